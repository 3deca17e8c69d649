"""Where the shared sample drop lives: ../shared/samples beside the repository (as in CI)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DROP = Path(
    os.environ.get("XIANSUO_SAMPLE_DROP", ROOT.parent / "shared" / "samples" / "drop-hainan-small")
)
