"""`python -m xiansuo` is the same as the `xiansuo` command."""

from xiansuo.cli import main

raise SystemExit(main())
