"""Deterministic synthetic demo drops: fictitious people, companies and petitions in the nine
registry export formats, with the quirks, bad rows and planted patterns the tests rely on.

``write_demo_drop(out, persons, seed)`` writes the files and ``_truth.json`` and returns the same
truth as a ``DemoSummary``. All data is generated; only the region codes are real (GB/T 2260).
"""

from demo.drop import TRUTH_FILE, write_demo_drop
from demo.summary import DemoSummary

__all__ = ["TRUTH_FILE", "DemoSummary", "write_demo_drop"]
