"""Petition drops written by tests: versions, duplicates and complainants whose winner is known.

Every value is fictitious. A drop holds one or more JSON Lines files of petitions (a manifest maps
them all to the petition source, in name order); ``winners`` says which row the index and the
sealed store must hold for each 信访件编号: the latest 登记日期, and of equal dates the row
that comes last (later file, then later line).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from analyzers.ids import id_check_char

HEADER = (
    "信访件编号", "登记日期", "来源渠道", "反映人姓名", "反映人证件号码", "反映人联系电话",
    "是否匿名", "被反映人姓名", "被反映人证件号码", "被反映人单位", "被反映人职务",
    "被反映人职级", "问题类别", "问题属地行政区划代码", "承办单位", "承办层级", "办理状态", "内容",
)  # fmt: skip
_SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"


@dataclass(frozen=True, slots=True)
class PetitionRow:
    """One row as written, with where it sits."""

    file: str
    line: int
    number: str
    registered: date
    complainant: tuple[str, str, str] | None  # (name, ID, phone); None: anonymous
    state: str

    def values(self) -> dict[str, str]:
        name, pid, phone = self.complainant or ("", "", "")
        return {
            "信访件编号": self.number,
            "登记日期": self.registered.isoformat(),
            "来源渠道": "来信",
            "反映人姓名": name,
            "反映人证件号码": pid,
            "反映人联系电话": phone,
            "是否匿名": "否" if self.complainant else "是",
            "被反映人姓名": "刘某某",
            "被反映人证件号码": "",
            "被反映人单位": "海口市龙华区粮食局",
            "被反映人职务": "局长",
            "被反映人职级": "县管干部",
            "问题类别": "违反廉洁纪律",
            "问题属地行政区划代码": "460106",
            "承办单位": "龙华区纪委监委信访室",
            "承办层级": "县",
            "办理状态": self.state,
            "内容": f"反映{self.number}所涉问题，请予核查。",
        }

    @property
    def order(self) -> tuple[date, str, int]:
        """What decides the winner: the date, then the file, then the line."""
        return self.registered, self.file, self.line


def complainant(rng: random.Random, serial: int) -> tuple[str, str, str]:
    """A fictitious complainant; the serial keeps ID and phone unique in a drop."""
    name = rng.choice(_SURNAMES) + rng.choice(_GIVEN) + rng.choice(_GIVEN)
    body = f"460106{date(1960, 1, 1) + timedelta(days=serial % 15000):%Y%m%d}{serial % 1000:03d}"
    return name, body + id_check_char(body), f"14{serial:09d}"


def write_petitions(folder: Path, files: dict[str, list[PetitionRow]]) -> None:
    """Write the files (JSON Lines, rows in list order) and a manifest naming them petitions."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in files.items():
        lines = [json.dumps(row.values(), ensure_ascii=False) for row in rows]
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    manifest = "[files]\n" + "".join(f'"{name}" = "petition"\n' for name in files)
    (folder / "manifest.toml").write_text(manifest, encoding="utf-8")


def winners(files: dict[str, list[PetitionRow]]) -> dict[str, PetitionRow]:
    """The row each petition number must be held as."""
    best: dict[str, PetitionRow] = {}
    for rows in files.values():
        for row in rows:
            if row.number not in best or row.order >= best[row.number].order:
                best[row.number] = row
    return best


def random_drop(rng: random.Random, petitions: int) -> dict[str, list[PetitionRow]]:
    """Two files of petitions with exact copies, older and newer versions, equal dates, anonymous
    versions, in shuffled order; the second file re-registers some petitions."""
    first: list[tuple[str, date, tuple[str, str, str] | None, str]] = []
    second: list[tuple[str, date, tuple[str, str, str] | None, str]] = []
    serial = 0
    for n in range(petitions):
        number = f"XF46{2023 + n % 2}{n:07d}"
        day = date(2023, 1, 1) + timedelta(days=rng.randrange(700))
        for copy in range(rng.choices((1, 2, 3), (60, 30, 10))[0]):
            serial += 1
            who = complainant(rng, serial) if rng.random() < 0.7 else None
            shift = rng.choice((-30, 0, 0, 45)) if copy else 0
            state = rng.choice(("待受理", "办理中"))
            first.append((number, day + timedelta(days=shift), who, state))
            if copy and rng.random() < 0.2:  # an exact copy of this version too
                first.append(first[-1])
        if rng.random() < 0.15:
            serial += 1
            shift = rng.choice((-10, 0, 20))
            second.append((number, day + timedelta(days=shift), complainant(rng, serial), "已办结"))
    rng.shuffle(first)
    rng.shuffle(second)
    return {
        name: [PetitionRow(name, line, *row) for line, row in enumerate(rows, start=1)]
        for name, rows in (("petition-1.jsonl", first), ("petition-2.jsonl", second))
    }
