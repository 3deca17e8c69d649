"""Closed sets shared by every package: registry sources and administrative tiers."""

from enum import StrEnum


class Source(StrEnum):
    """The registries the platform indexes; the value is the drop file stem and index suffix."""

    HOUSEHOLD = "household"
    COMPANY = "company"
    SHAREHOLDER = "shareholder"
    COMPANY_OFFICER = "company_officer"
    INSURED = "insured"
    BENEFIT = "benefit"
    PROPERTY = "property"
    PETITION = "petition"
    OFFICIAL = "official"


class Tier(StrEnum):
    """Administrative tier of a record, derived from its 行政区划代码 (省/市/县/乡)."""

    PROVINCE = "省"
    CITY = "市"
    COUNTY = "县"
    TOWNSHIP = "乡"
