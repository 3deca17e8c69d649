"""Source definitions: each registry's columns, key and value kinds, as declarative data.

Column headers are exactly the Chinese names of ../shared/registry-formats.md; field names are the
English names used in the index. `load_sources` validates the table once and names a bad entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache

from common.vocab import Source


class Kind(StrEnum):
    """How a cell is parsed and indexed."""

    PERSON_ID = "person_id"  # 公民身份号码; links the record to a person when valid
    CREDIT_CODE = "credit_code"  # 统一社会信用代码; links the record to a company when valid
    PARTY_ID = "party_id"  # a person ID or a credit code, whichever it validates as
    NAME = "name"  # a person's name: cleaned, simplified and pinyin for search
    ORG_NAME = "org_name"  # a company or unit name
    TEXT = "text"  # short free text (address, unit, post)
    LONG_TEXT = "long_text"  # prose: also segmented by jieba at ingest
    LABEL = "label"  # a value from a closed or code-like set, searched exactly
    DATE = "date"
    PERIOD = "period"  # 所属期 YYYYMM
    MONEY = "money"
    NUMBER = "number"
    BOOL = "bool"
    REGION = "region"  # 行政区划代码: scope filters and tier
    TIER = "tier"  # an administrative level as a word (承办层级): normalised to 省/市/县/乡
    PHONE = "phone"
    SEALED = "sealed"  # complainant data: goes to the sealed store, never to an index


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    field: str
    kind: Kind
    key: bool = False
    # Petition 被反映人… columns hold '；'-separated lists aligned by position.
    group: str | None = None


@dataclass(frozen=True, slots=True)
class SourceSpec:
    source: Source
    label: str  # the registry's Chinese name, for people
    columns: tuple[Column, ...]
    # Natural key: fields joined in this order; optional parts are empty when absent.
    key_fields: tuple[str, ...]
    # A later value of this date supersedes an earlier record with the same key.
    version_field: str | None = None
    region_field: str | None = None
    # Without a region column, characters 3-8 of this credit code (GB 32100: the registering
    # authority's 行政区划码) place the record, so regional scope filters can reach it.
    region_from_credit_code: str | None = None
    date_field: str | None = None  # the record's main date (facets, sorting)
    by_header: dict[str, Column] = field(init=False, repr=False, compare=False)
    key_columns: tuple[Column, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_header", {c.header: c for c in self.columns})
        by_field = {c.field: c for c in self.columns if c.group is None}
        key_columns = tuple(by_field[name] for name in self.key_fields if name in by_field)
        object.__setattr__(self, "key_columns", key_columns)

    def column(self, field_name: str) -> Column:
        return next(c for c in self.columns if c.field == field_name)


K = Kind


def _c(
    header: str, name: str, kind: Kind, *, key: bool = False, group: str | None = None
) -> Column:
    return Column(header, name, kind, key, group)


_SOURCES: tuple[SourceSpec, ...] = (
    SourceSpec(
        Source.HOUSEHOLD,
        "公安·常住人口登记",
        (
            _c("公民身份号码", "id_number", K.PERSON_ID, key=True),
            _c("姓名", "name", K.NAME),
            _c("曾用名", "former_name", K.NAME),
            _c("性别", "gender", K.LABEL),
            _c("民族", "ethnicity", K.LABEL),
            _c("出生日期", "birth_date", K.DATE),
            _c("户号", "household_no", K.LABEL),
            _c("与户主关系", "relation", K.LABEL),
            _c("户籍地址", "address", K.TEXT),
            _c("户籍地行政区划代码", "region_code", K.REGION),
            _c("人员状态", "status", K.LABEL),
            _c("死亡日期", "death_date", K.DATE),
            _c("联系电话", "phone", K.PHONE),
            _c("登记日期", "registered_on", K.DATE),
        ),
        key_fields=("id_number",),
        version_field="registered_on",
        region_field="region_code",
        date_field="registered_on",
    ),
    SourceSpec(
        Source.COMPANY,
        "市场监管·企业登记基本信息",
        (
            _c("统一社会信用代码", "credit_code", K.CREDIT_CODE, key=True),
            _c("企业名称", "company_name", K.ORG_NAME),
            _c("企业类型", "company_type", K.LABEL),
            _c("法定代表人", "legal_rep", K.NAME),
            _c("法定代表人证件号码", "legal_rep_id", K.PERSON_ID),
            _c("注册资本(万元)", "registered_capital", K.MONEY),
            _c("成立日期", "founded_on", K.DATE),
            _c("登记状态", "status", K.LABEL),
            _c("住所", "address", K.TEXT),
            _c("经营范围", "business_scope", K.LONG_TEXT),
            _c("登记机关", "registrar", K.TEXT),
            _c("行政区划代码", "region_code", K.REGION),
            _c("联系电话", "phone", K.PHONE),
            _c("注销日期", "deregistered_on", K.DATE),
        ),
        key_fields=("credit_code",),
        region_field="region_code",
        date_field="founded_on",
    ),
    SourceSpec(
        Source.SHAREHOLDER,
        "市场监管·股东及出资信息",
        (
            _c("统一社会信用代码", "credit_code", K.CREDIT_CODE, key=True),
            _c("企业名称", "company_name", K.ORG_NAME),
            _c("股东名称", "holder_name", K.NAME, key=True),
            _c("股东类型", "holder_type", K.LABEL),
            _c("证照类型", "holder_id_type", K.LABEL),
            _c("证照号码", "holder_id", K.PARTY_ID),
            _c("认缴出资额(万元)", "subscribed_capital", K.MONEY),
            _c("出资比例(%)", "share_percent", K.NUMBER),
            _c("出资日期", "contributed_on", K.DATE),
        ),
        key_fields=("credit_code", "holder_name", "holder_id"),
        region_from_credit_code="credit_code",
        date_field="contributed_on",
    ),
    SourceSpec(
        Source.COMPANY_OFFICER,
        "市场监管·主要人员",
        (
            _c("统一社会信用代码", "credit_code", K.CREDIT_CODE, key=True),
            _c("企业名称", "company_name", K.ORG_NAME),
            _c("姓名", "name", K.NAME, key=True),
            _c("证件号码", "id_number", K.PERSON_ID),
            _c("职务", "post", K.LABEL),
        ),
        key_fields=("credit_code", "name", "id_number", "post"),
        region_from_credit_code="credit_code",
    ),
    SourceSpec(
        Source.INSURED,
        "人社·社会保险参保登记",
        (
            _c("公民身份号码", "id_number", K.PERSON_ID, key=True),
            _c("姓名", "name", K.NAME),
            _c("单位统一社会信用代码", "employer_code", K.CREDIT_CODE),
            _c("单位名称", "employer_name", K.ORG_NAME),
            _c("险种", "insurance_type", K.LABEL, key=True),
            _c("参保状态", "status", K.LABEL),
            _c("参保日期", "insured_on", K.DATE, key=True),
            _c("停保日期", "stopped_on", K.DATE),
            _c("缴费基数(元)", "contribution_base", K.MONEY),
            _c("参保地行政区划代码", "region_code", K.REGION),
        ),
        key_fields=("id_number", "insurance_type", "insured_on"),
        region_field="region_code",
        date_field="insured_on",
    ),
    SourceSpec(
        Source.BENEFIT,
        "人社/民政·待遇及社会救助发放",
        (
            _c("发放流水号", "payment_no", K.LABEL, key=True),
            _c("公民身份号码", "id_number", K.PERSON_ID),
            _c("姓名", "name", K.NAME),
            _c("待遇类型", "benefit_type", K.LABEL),
            _c("所属期", "period", K.PERIOD),
            _c("发放金额(元)", "amount", K.MONEY),
            _c("发放日期", "paid_on", K.DATE),
            _c("发放机构", "payer", K.ORG_NAME),
            _c("行政区划代码", "region_code", K.REGION),
        ),
        key_fields=("payment_no",),
        region_field="region_code",
        date_field="paid_on",
    ),
    SourceSpec(
        Source.PROPERTY,
        "不动产登记",
        (
            _c("不动产单元号", "unit_no", K.LABEL, key=True),
            _c("不动产权证书号", "certificate_no", K.LABEL),
            _c("权利人", "owner_name", K.NAME, key=True),
            _c("证件种类", "owner_id_type", K.LABEL),
            _c("证件号码", "owner_id", K.PARTY_ID),
            _c("共有情况", "co_ownership", K.LABEL),
            _c("权利比例", "share", K.LABEL),
            _c("坐落", "location", K.TEXT),
            _c("建筑面积(㎡)", "floor_area", K.NUMBER),
            _c("规划用途", "use", K.LABEL),
            _c("权利性质", "right_type", K.LABEL),
            _c("登记日期", "registered_on", K.DATE),
            _c("登记类型", "registration_type", K.LABEL),
            _c("成交价格(万元)", "price", K.MONEY),
            _c("行政区划代码", "region_code", K.REGION),
        ),
        key_fields=("unit_no", "owner_name", "owner_id"),
        version_field="registered_on",
        region_field="region_code",
        date_field="registered_on",
    ),
    SourceSpec(
        Source.PETITION,
        "信访举报件",
        (
            _c("信访件编号", "petition_no", K.LABEL, key=True),
            _c("登记日期", "registered_on", K.DATE),
            _c("来源渠道", "channel", K.LABEL),
            _c("反映人姓名", "complainant_name", K.SEALED),
            _c("反映人证件号码", "complainant_id", K.SEALED),
            _c("反映人联系电话", "complainant_phone", K.SEALED),
            _c("是否匿名", "anonymous", K.BOOL),
            _c("被反映人姓名", "name", K.NAME, group="reported"),
            _c("被反映人证件号码", "id_number", K.PERSON_ID, group="reported"),
            _c("被反映人单位", "unit", K.ORG_NAME, group="reported"),
            _c("被反映人职务", "post", K.TEXT, group="reported"),
            _c("被反映人职级", "rank", K.LABEL, group="reported"),
            _c("问题类别", "category", K.LABEL),
            _c("问题属地行政区划代码", "region_code", K.REGION),
            _c("承办单位", "handling_unit", K.ORG_NAME),
            _c("承办层级", "handling_tier", K.TIER),
            _c("办理状态", "status", K.LABEL),
            _c("内容", "content", K.LONG_TEXT),
        ),
        key_fields=("petition_no",),
        version_field="registered_on",
        region_field="region_code",
        date_field="registered_on",
    ),
    SourceSpec(
        Source.OFFICIAL,
        "组织人事·公职人员（监察对象）名录",
        (
            _c("公民身份号码", "id_number", K.PERSON_ID, key=True),
            _c("姓名", "name", K.NAME),
            _c("工作单位", "unit", K.ORG_NAME),
            _c("职务", "post", K.TEXT),
            _c("职级", "rank", K.LABEL),
            _c("人员类别", "category", K.LABEL),
            _c("是否财政供养", "state_funded", K.BOOL),
            _c("管理权限", "authority", K.LABEL),
            _c("任职日期", "appointed_on", K.DATE),
            _c("行政区划代码", "region_code", K.REGION),
        ),
        key_fields=("id_number",),
        region_field="region_code",
        date_field="appointed_on",
    ),
)


class SourceDefinitionError(ValueError):
    """A source definition is inconsistent; the message names the source and the entry."""


def _validate(spec: SourceSpec) -> None:
    fields = [c.field for c in spec.columns if c.group is None]
    headers = [c.header for c in spec.columns]
    if len(set(headers)) != len(headers):
        raise SourceDefinitionError(f"{spec.source}: a column header appears twice")
    if len(set(fields)) != len(fields):
        raise SourceDefinitionError(f"{spec.source}: a field name appears twice")
    named = (spec.version_field, spec.region_field, spec.region_from_credit_code, spec.date_field)
    for name in (*spec.key_fields, *named):
        if name is not None and name not in fields:
            raise SourceDefinitionError(f"{spec.source}: '{name}' is not a field of the source")
    for column in spec.columns:
        if column.key and column.field not in spec.key_fields:
            raise SourceDefinitionError(
                f"{spec.source}: key column {column.header} not in key_fields"
            )
        if column.kind is Kind.SEALED and (column.key or column.group):
            raise SourceDefinitionError(
                f"{spec.source}: sealed column {column.header} cannot be a key"
            )


def load_sources() -> dict[Source, SourceSpec]:
    """Every source definition, validated; raises SourceDefinitionError naming a bad entry.

    Validated once per process (the definitions are constants; every response that masks a
    record reads them), and a new dict each call, so no caller can change another's."""
    return dict(_validated_sources())


@cache
def _validated_sources() -> dict[Source, SourceSpec]:
    for spec in _SOURCES:
        _validate(spec)
    specs = {spec.source: spec for spec in _SOURCES}
    missing = set(Source) - set(specs)
    if missing:
        raise SourceDefinitionError(f"no definition for sources {sorted(missing)}")
    return specs
