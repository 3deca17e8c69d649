#!/usr/bin/env bash
# The one check command: ruff (lint + format) and mypy --strict on our packages.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
