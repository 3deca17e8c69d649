"""The registry values the comparison models name (registry-formats.md), as closed sets.

A model file that names a value outside these sets fails at load: a typo (存绩 for 存续) would
otherwise make a model silently find nothing.
"""

from __future__ import annotations

from typing import Final

BENEFIT_TYPES: Final = frozenset(
    {"基本养老金", "城乡居民养老金", "最低生活保障金", "特困供养金", "失业保险金", "临时救助金"}
)
"""待遇类型 of the benefit register."""

COMPANY_STATUSES: Final = frozenset({"存续", "在业", "吊销", "注销", "迁出"})
"""登记状态 of the company register."""

INSURED_STATUSES: Final = frozenset({"参保缴费", "暂停缴费", "终止参保"})
"""参保状态 of the insurance register."""

PROPERTY_USES: Final = frozenset({"住宅", "商业", "办公", "工业", "车位"})
"""规划用途 of the property register."""

REGISTRATION_TYPES: Final = frozenset({"首次登记", "转移登记", "变更登记", "注销登记"})
"""登记类型 of the property register."""

HOUSEHOLD_RELATIONS: Final = frozenset({
    "户主", "配偶", "子", "女", "父亲", "母亲", "兄弟", "姐妹", "孙子", "孙女", "儿媳", "女婿",
    "其他",
})  # fmt: skip
"""与户主关系 of the household register."""

DECEASED: Final = "死亡"
"""人员状态 of a person the household register records as dead."""
