"""Rows of one source before they are written, each carrying what the ingest should make of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from common.vocab import Source

Cell = str | float | datetime | None
"""A value as a file holds it: text, a JSON/Excel number, an Excel date, or a truly empty cell."""

# The exact column names of registry-formats.md, in its order.
HEADERS: dict[Source, tuple[str, ...]] = {
    Source.HOUSEHOLD: (
        "公民身份号码", "姓名", "曾用名", "性别", "民族", "出生日期", "户号", "与户主关系",
        "户籍地址", "户籍地行政区划代码", "人员状态", "死亡日期", "联系电话", "登记日期",
    ),
    Source.COMPANY: (
        "统一社会信用代码", "企业名称", "企业类型", "法定代表人", "法定代表人证件号码",
        "注册资本(万元)", "成立日期", "登记状态", "住所", "经营范围", "登记机关", "行政区划代码",
        "联系电话", "注销日期",
    ),
    Source.SHAREHOLDER: (
        "统一社会信用代码", "企业名称", "股东名称", "股东类型", "证照类型", "证照号码",
        "认缴出资额(万元)", "出资比例(%)", "出资日期",
    ),
    Source.COMPANY_OFFICER: ("统一社会信用代码", "企业名称", "姓名", "证件号码", "职务"),
    Source.INSURED: (
        "公民身份号码", "姓名", "单位统一社会信用代码", "单位名称", "险种", "参保状态",
        "参保日期", "停保日期", "缴费基数(元)", "参保地行政区划代码",
    ),
    Source.BENEFIT: (
        "发放流水号", "公民身份号码", "姓名", "待遇类型", "所属期", "发放金额(元)", "发放日期",
        "发放机构", "行政区划代码",
    ),
    Source.PROPERTY: (
        "不动产单元号", "不动产权证书号", "权利人", "证件种类", "证件号码", "共有情况", "权利比例",
        "坐落", "建筑面积(㎡)", "规划用途", "权利性质", "登记日期", "登记类型", "成交价格(万元)",
        "行政区划代码",
    ),
    Source.PETITION: (
        "信访件编号", "登记日期", "来源渠道", "反映人姓名", "反映人证件号码", "反映人联系电话",
        "是否匿名", "被反映人姓名", "被反映人证件号码", "被反映人单位", "被反映人职务",
        "被反映人职级", "问题类别", "问题属地行政区划代码", "承办单位", "承办层级", "办理状态",
        "内容",
    ),
    Source.OFFICIAL: (
        "公民身份号码", "姓名", "工作单位", "职务", "职级", "人员类别", "是否财政供养", "管理权限",
        "任职日期", "行政区划代码",
    ),
}  # fmt: skip

# Key (K) columns per source: a row missing or failing one of these is rejected.
KEYS: dict[Source, tuple[str, ...]] = {
    Source.HOUSEHOLD: ("公民身份号码",),
    Source.COMPANY: ("统一社会信用代码",),
    Source.SHAREHOLDER: ("统一社会信用代码", "股东名称"),
    Source.COMPANY_OFFICER: ("统一社会信用代码", "姓名"),
    Source.INSURED: ("公民身份号码", "险种", "参保日期"),
    Source.BENEFIT: ("发放流水号",),
    Source.PROPERTY: ("不动产单元号", "权利人"),
    Source.PETITION: ("信访件编号",),
    Source.OFFICIAL: ("公民身份号码",),
}


@dataclass(slots=True)
class Row:
    """One data row and the outcome the ingest is expected to reach for it."""

    values: dict[str, Cell]
    protected: bool = False  # planted rows: never damaged, duplicated or superseded
    reject: tuple[str, str] | None = None  # (key column, reason) when the key is missing or invalid
    duplicate: bool = False  # an exact copy of an earlier row
    # Another row of the file replaces this one's record (``winner``): a later version date, the
    # later row on an equal date, or, for a source without a version date, the later row.
    superseded: bool = False
    winner: Row | None = None
    has_versions: bool = False  # the winner of a record planted with older versions
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (column, kind)
    invalid_ids: list[str] = field(default_factory=list)  # non-key columns with a bad ID on purpose

    @property
    def clean(self) -> bool:
        """Still an ordinary valid row that damage may be planted on."""
        return not (
            self.protected or self.reject or self.duplicate or self.superseded or self.warnings
            or self.invalid_ids or self.has_versions
        )  # fmt: skip


@dataclass(slots=True)
class Table:
    """All rows of one source in file order, with the header as written."""

    source: Source
    header: list[str]
    rows: list[Row]
