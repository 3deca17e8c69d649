"""The clue ledger (问题线索台账) of comparison models as an export: rows of a fixed list of
columns (pure, no store). The ID number is masked and names and notes pass through
``mask_text`` unless the application unmasks; cells a spreadsheet would run as a formula are
escaped as in the search ledger (search_api.models.ledger)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from comparison.definitions import Catalogue
from comparison.ledger import Clue
from search_api.masking import mask_id, mask_text
from search_api.models.ledger import safe_cell

HEADER = ("序号", "线索编号", "比对模型", "等级", "状态", "提醒", "新增", "姓名", "证件号码",
          "承办人", "办结期限", "备注", "发现时间")  # fmt: skip
NEW_MARK = "新增"


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """A clue with what the ledger says of it besides its stored fields."""

    clue: Clue
    flag: str  # 逾期 / 临期 / ""
    new: bool


def clue_ledger_rows(
    rows: Sequence[LedgerRow], catalogue: Catalogue, *, unmask: bool
) -> list[list[str]]:
    """The header, then one row per clue."""
    text: Callable[[str], str] = (lambda v: v) if unmask else mask_text

    def model_name(model_id: str) -> str:
        model = catalogue.model(model_id)
        return model.name if model else model_id

    out = [list(HEADER)]
    for number, row in enumerate(rows, start=1):
        clue = row.clue
        cells = [
            clue.clue_no,
            model_name(clue.model_id),
            catalogue.levels[clue.level].label,
            str(clue.status),
            row.flag,
            NEW_MARK if row.new else "",
            text(clue.name),
            clue.person_id if unmask else mask_id(clue.person_id),
            text(clue.assignee or ""),
            _day(clue.due_on),
            text(clue.notes),
            _day(clue.created_at.date()),
        ]
        out.append([str(number), *(safe_cell(c) for c in cells)])
    return out


def _day(day: date) -> str:
    return day.isoformat()
