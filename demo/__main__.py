"""`python -m demo OUT --persons N --seed S`: write a synthetic drop (fictitious people).

The generator is a development tool: the service's own command (`xiansuo`) does not carry it,
and no production module imports it (tests/unit/test_architecture.py).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from demo.drop import write_demo_drop


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__.splitlines()[0])
    parser.add_argument("out", help="folder to write")
    parser.add_argument("--persons", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    try:
        summary = write_demo_drop(Path(args.out), persons=args.persons, seed=args.seed)
    except ValueError as exc:
        parser.exit(2, f"python -m demo: {exc}\n")
    print(json.dumps({"out": args.out, "total_rows": summary.total_rows}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
