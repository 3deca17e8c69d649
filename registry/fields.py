"""The document's named fields: one constant per field, used by the mappings, the ingest, the
queries, the masking and the graph alike (no field name as a bare string in four packages).

A source document is the source's columns (`ColumnField`, one name per column across every
registry: registry.sources defines which source has which) plus the envelope (`Envelope`) that
indexer.records derives from them for every source: the links to persons and companies, the
searchable names and text, the region and the record's date. Some envelope fields exist only to
be searched or to audit ingest and are never returned (`HIDDEN_FIELDS`).

The constants are plain strings, not a StrEnum: they are keys of documents and query bodies,
and orjson (the bulk sink) refuses a dict key that is a str subclass.
"""

from __future__ import annotations

from typing import Any, Final

from analyzers.index_settings import SUBFIELD_KEYWORD
from common.vocab import Source


class Envelope:
    """The fields indexer.records adds to every source document (registry.mapping types them)."""

    SOURCE: Final = "source"  # the registry (common.vocab.Source value)
    RECORD_KEY: Final = "record_key"  # the natural key, its parts joined by "|"
    FILE: Final = "file"  # provenance: the export file and its line
    LINE: Final = "line"
    PERSONS: Final = "persons"  # normalised 公民身份号码 of every person the record links
    COMPANIES: Final = "companies"  # 统一社会信用代码 of every company it links
    NAMES: Final = "names"  # persons' names, simplified
    NAMES_NODOT: Final = "names_nodot"  # without middle dots (阿依古丽买买提)
    NAMES_PINYIN: Final = "names_pinyin"  # full pinyin of the names as written
    NAMES_INITIALS: Final = "names_initials"  # pinyin initials
    ORGS: Final = "orgs"  # company and unit names, simplified
    REGION_PREFIXES: Final = "region_prefixes"  # 2, 4, 6 and 9 digit 行政区划代码 prefixes
    TIER: Final = "tier"  # the tier of the record's region (省/市/县/乡)
    RECORD_DATE: Final = "record_date"  # the source's main date (SourceSpec.date_field)
    ALL_TEXT: Final = "all_text"  # every text value, simplified and as written
    ALL_TOKENS: Final = "all_tokens"  # jieba words of the prose, space-separated
    EXTRA: Final = "extra"  # unknown columns of the export, as flat key/values
    UNPARSED: Final = "unparsed"  # raw text of values that failed to parse, by field path
    WARNINGS: Final = "warnings"  # why those values failed
    # BLAKE2b of the document without its provenance (file, line): equal for an unchanged
    # record whichever file or line it came from, so an ingest can tell new and changed
    # records from rewritten ones (the watch lists' notifications, docs/watch.md)
    CONTENT_DIGEST: Final = "content_digest"


ENVELOPE_FIELDS: Final[tuple[str, ...]] = tuple(
    value for name, value in vars(Envelope).items() if name.isupper() and isinstance(value, str)
)
"""Every envelope field, in the order of `Envelope`."""


class ColumnField:
    """The index field of each source column (``Column.field`` in registry.sources), and the
    nested group of a petition's reported persons. A name has one type in every index that has
    it (registry.mapping), so one constant serves every source."""

    # 公安·常住人口登记
    ID_NUMBER: Final = "id_number"
    NAME: Final = "name"
    FORMER_NAME: Final = "former_name"
    GENDER: Final = "gender"
    ETHNICITY: Final = "ethnicity"
    BIRTH_DATE: Final = "birth_date"
    HOUSEHOLD_NO: Final = "household_no"
    RELATION: Final = "relation"
    ADDRESS: Final = "address"
    REGION_CODE: Final = "region_code"
    STATUS: Final = "status"
    DEATH_DATE: Final = "death_date"
    PHONE: Final = "phone"
    REGISTERED_ON: Final = "registered_on"
    # 市场监管: 企业登记, 股东及出资, 主要人员
    CREDIT_CODE: Final = "credit_code"
    COMPANY_NAME: Final = "company_name"
    COMPANY_TYPE: Final = "company_type"
    LEGAL_REP: Final = "legal_rep"
    LEGAL_REP_ID: Final = "legal_rep_id"
    REGISTERED_CAPITAL: Final = "registered_capital"
    FOUNDED_ON: Final = "founded_on"
    BUSINESS_SCOPE: Final = "business_scope"
    REGISTRAR: Final = "registrar"
    DEREGISTERED_ON: Final = "deregistered_on"
    HOLDER_NAME: Final = "holder_name"
    HOLDER_TYPE: Final = "holder_type"
    HOLDER_ID_TYPE: Final = "holder_id_type"
    HOLDER_ID: Final = "holder_id"
    SUBSCRIBED_CAPITAL: Final = "subscribed_capital"
    SHARE_PERCENT: Final = "share_percent"
    CONTRIBUTED_ON: Final = "contributed_on"
    POST: Final = "post"
    # 人社: 参保登记, 待遇及社会救助发放
    EMPLOYER_CODE: Final = "employer_code"
    EMPLOYER_NAME: Final = "employer_name"
    INSURANCE_TYPE: Final = "insurance_type"
    INSURED_ON: Final = "insured_on"
    STOPPED_ON: Final = "stopped_on"
    CONTRIBUTION_BASE: Final = "contribution_base"
    PAYMENT_NO: Final = "payment_no"
    BENEFIT_TYPE: Final = "benefit_type"
    PERIOD: Final = "period"
    AMOUNT: Final = "amount"
    PAID_ON: Final = "paid_on"
    PAYER: Final = "payer"
    # 不动产登记
    UNIT_NO: Final = "unit_no"
    CERTIFICATE_NO: Final = "certificate_no"
    OWNER_NAME: Final = "owner_name"
    OWNER_ID_TYPE: Final = "owner_id_type"
    OWNER_ID: Final = "owner_id"
    CO_OWNERSHIP: Final = "co_ownership"
    SHARE: Final = "share"
    LOCATION: Final = "location"
    FLOOR_AREA: Final = "floor_area"
    USE: Final = "use"
    RIGHT_TYPE: Final = "right_type"
    REGISTRATION_TYPE: Final = "registration_type"
    PRICE: Final = "price"
    # 信访举报件 (the complainant's columns are sealed: never a field of any index)
    PETITION_NO: Final = "petition_no"
    CHANNEL: Final = "channel"
    COMPLAINANT_NAME: Final = "complainant_name"
    COMPLAINANT_ID: Final = "complainant_id"
    COMPLAINANT_PHONE: Final = "complainant_phone"
    ANONYMOUS: Final = "anonymous"
    REPORTED: Final = "reported"  # the nested group of reported persons (被反映人…)
    UNIT: Final = "unit"
    RANK: Final = "rank"
    CATEGORY: Final = "category"
    HANDLING_UNIT: Final = "handling_unit"
    HANDLING_TIER: Final = "handling_tier"
    CONTENT: Final = "content"
    # 公职人员名录
    STATE_FUNDED: Final = "state_funded"
    AUTHORITY: Final = "authority"
    APPOINTED_ON: Final = "appointed_on"


COLUMN_FIELDS: Final[tuple[str, ...]] = tuple(
    value for name, value in vars(ColumnField).items() if name.isupper() and isinstance(value, str)
)
"""Every column field and group name, in the order of `ColumnField`."""

VECTOR_FIELD: Final = "content_vector"
"""A petition's content vector (base64 float32; see indexer.vectors)."""
EMBEDDED_SOURCES: frozenset[Source] = frozenset({Source.PETITION})
"""The sources whose documents carry ``VECTOR_FIELD``."""

HIDDEN_FIELDS: Final[tuple[str, ...]] = (
    Envelope.ALL_TEXT,
    Envelope.ALL_TOKENS,
    Envelope.NAMES_NODOT,
    Envelope.NAMES_PINYIN,
    Envelope.NAMES_INITIALS,
    Envelope.UNPARSED,
    Envelope.RECORD_KEY,
    Envelope.WARNINGS,
    Envelope.CONTENT_DIGEST,
    VECTOR_FIELD,
)
"""Fields a response never shows: the search-only forms of the text and names, raw unparsed
values and their warnings, the natural key (it holds ID numbers) and the vector. Every query
that returns records excludes them from ``_source``; a similar-petition candidate keeps the
vector until search_api.queries.similar_ranking takes it out."""


def join_path(*parts: str) -> str:
    """The dotted path of a sub-field (``names.keyword``) or of a field inside a nested group
    (``reported.id_number``)."""
    return ".".join(parts)


# Paths the queries share: whole-value sub-fields of the envelope's names, and the fields of a
# petition's reported persons (a nested group).
NAMES_KEYWORD: Final = join_path(Envelope.NAMES, SUBFIELD_KEYWORD)
ORGS_KEYWORD: Final = join_path(Envelope.ORGS, SUBFIELD_KEYWORD)
REPORTED_ID_NUMBER: Final = join_path(ColumnField.REPORTED, ColumnField.ID_NUMBER)
REPORTED_NAME: Final = join_path(ColumnField.REPORTED, ColumnField.NAME)
REPORTED_UNIT: Final = join_path(ColumnField.REPORTED, ColumnField.UNIT)
REPORTED_POST: Final = join_path(ColumnField.REPORTED, ColumnField.POST)


def vector_mapping() -> dict[str, Any]:
    """The mapping of `VECTOR_FIELD`: base64 float32, kept in _source only (no k-NN engine)."""
    return {"type": "binary"}
