"""The comparison models as validated data: ``models.toml`` loaded into frozen pydantic models.

A model names the population it streams over (``subjects``: the deceased, officials, benefit
recipients), whose records it follows (``via``: the subject, or their spouse or child through the
household register's 户号 and 与户主关系), and the conditions those persons must all meet (typed
kinds with their parameters: benefit types, statuses, thresholds). There is no query language:
each kind is one builder in ``comparison.queries``; what varies between models is data.

A bad file fails at load with a message naming the model (its place and id) and the field.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from common.vocab import Source
from comparison.vocab import (
    BENEFIT_TYPES,
    COMPANY_STATUSES,
    HOUSEHOLD_RELATIONS,
    INSURED_STATUSES,
    PROPERTY_USES,
    REGISTRATION_TYPES,
)

MODELS_FILE = Path(__file__).resolve().parent / "models.toml"
"""The models the service ships (package data)."""

MODEL_ID_PATTERN = r"^[a-z][a-z0-9_]{2,47}$"
MAX_DUE_DAYS = 365


class Level(StrEnum):
    """How urgent a model's clues are (红/黄/蓝 alerts)."""

    RED = "red"
    YELLOW = "yellow"
    BLUE = "blue"


class Relation(StrEnum):
    """Whose records a model follows from its subject (household register, same 户号)."""

    SELF = "self"
    SPOUSE = "spouse"
    CHILD = "child"


class PeriodBound(StrEnum):
    """How a payment's 所属期 must relate to a date of its subject."""

    AFTER_DEATH_MONTH = "after_death_month"  # a month after the month of 死亡日期
    FROM_APPOINTMENT_MONTH = "from_appointment_month"  # the month of 任职日期 or later


class CompanyRoleKind(StrEnum):
    LEGAL_REP = "legal_rep"  # 法定代表人 of the company register
    SHAREHOLDER = "shareholder"  # 股东 (a natural person's 证照号码) of the shareholder register


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _closed(values: tuple[str, ...], allowed: frozenset[str], what: str) -> tuple[str, ...]:
    """``values`` unchanged if every one is in ``allowed``; a typo fails naming the value."""
    for value in values:
        if value not in allowed:
            raise ValueError(f"{value!r} is not a {what} ({', '.join(sorted(allowed))})")
    if len(set(values)) != len(values):
        raise ValueError(f"a {what} is listed twice")
    return values


# --- subjects: the population a run streams over, keyed on the person ---------------------------


class DeceasedSubjects(_Frozen):
    """Persons the household register records as 死亡 with a 死亡日期."""

    kind: Literal["deceased"]


class OfficialSubjects(_Frozen):
    """Persons on the officials' roster; ``state_funded`` narrows to 是否财政供养=是 (or 否)."""

    kind: Literal["official"]
    state_funded: bool | None = None


class RecipientSubjects(_Frozen):
    """Persons paid a benefit of one of ``benefit_types`` (any type when empty)."""

    kind: Literal["benefit_recipient"]
    benefit_types: tuple[str, ...] = ()

    @field_validator("benefit_types")
    @classmethod
    def _known_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _closed(value, BENEFIT_TYPES, "待遇类型")


Subjects = Annotated[
    DeceasedSubjects | OfficialSubjects | RecipientSubjects, Field(discriminator="kind")
]

SUBJECT_SOURCE: dict[str, Source] = {
    "deceased": Source.HOUSEHOLD,
    "official": Source.OFFICIAL,
    "benefit_recipient": Source.BENEFIT,
}
"""The registry each kind of subject is streamed from."""


# --- conditions: what the subject (or a relative) must meet ------------------------------------


class BenefitPaid(_Frozen):
    """Paid a benefit of ``benefit_types``, for a 所属期 bounded by a date of the subject."""

    kind: Literal["benefit_paid"]
    benefit_types: tuple[str, ...] = Field(min_length=1)
    period: PeriodBound | None = None

    @field_validator("benefit_types")
    @classmethod
    def _known_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _closed(value, BENEFIT_TYPES, "待遇类型")


class InsuredAfterDeath(_Frozen):
    """An insurance record in ``statuses`` still running after the death: its 参保日期 after
    the 死亡日期, or no 停保日期 on or before it."""

    kind: Literal["insured_after_death"]
    statuses: tuple[str, ...] = Field(min_length=1)

    @field_validator("statuses")
    @classmethod
    def _known_statuses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _closed(value, INSURED_STATUSES, "参保状态")


class PropertyUnits(_Frozen):
    """Owner (any share) of at least ``min_units`` distinct 不动产单元号 of ``uses`` whose
    登记类型 is not one of ``excluded_registrations``."""

    kind: Literal["property_units"]
    uses: tuple[str, ...] = Field(min_length=1)
    excluded_registrations: tuple[str, ...] = ()
    min_units: int = Field(ge=1, le=20)

    @field_validator("uses")
    @classmethod
    def _known_uses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _closed(value, PROPERTY_USES, "规划用途")

    @field_validator("excluded_registrations")
    @classmethod
    def _known_registrations(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _closed(value, REGISTRATION_TYPES, "登记类型")


class CompanyRole(_Frozen):
    """Legal representative or shareholder (``roles``) of a company whose 登记状态 is one of
    ``company_statuses`` (any status when empty)."""

    kind: Literal["company_role"]
    roles: tuple[CompanyRoleKind, ...] = Field(min_length=1)
    company_statuses: tuple[str, ...] = ()

    @field_validator("company_statuses")
    @classmethod
    def _known_statuses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _closed(value, COMPANY_STATUSES, "登记状态")


class DuplicatePayment(_Frozen):
    """At least ``min_payments`` payments (distinct 发放流水号) of one type for one 所属期."""

    kind: Literal["duplicate_payment"]
    benefit_types: tuple[str, ...] = ()  # any type when empty
    min_payments: int = Field(default=2, ge=2, le=20)

    @field_validator("benefit_types")
    @classmethod
    def _known_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _closed(value, BENEFIT_TYPES, "待遇类型")


Condition = Annotated[
    BenefitPaid | InsuredAfterDeath | PropertyUnits | CompanyRole | DuplicatePayment,
    Field(discriminator="kind"),
]


def condition_sources(condition: Condition) -> set[Source]:
    """The registries a condition reads."""
    if isinstance(condition, BenefitPaid | DuplicatePayment):
        return {Source.BENEFIT}
    if isinstance(condition, InsuredAfterDeath):
        return {Source.INSURED}
    if isinstance(condition, PropertyUnits):
        return {Source.PROPERTY}
    needed: set[Source] = set()
    if CompanyRoleKind.SHAREHOLDER in condition.roles:
        needed.add(Source.SHAREHOLDER)
    if CompanyRoleKind.LEGAL_REP in condition.roles or condition.company_statuses:
        needed.add(Source.COMPANY)
    return needed


# The subject's own dates a condition compares with: only meaningful for the subject itself.
_NEEDS_SUBJECT: dict[PeriodBound, str] = {
    PeriodBound.AFTER_DEATH_MONTH: "deceased",
    PeriodBound.FROM_APPOINTMENT_MONTH: "official",
}


class ComparisonModel(_Frozen):
    """One model: who, whose records, which conditions, how urgent, what is cited."""

    id: str = Field(pattern=MODEL_ID_PATTERN)
    name: str = Field(min_length=2, max_length=60)  # 名称
    description: str = Field(min_length=10, max_length=500)  # 说明
    level: Level
    sources: tuple[Source, ...] = Field(min_length=1)
    evidence: tuple[Source, ...] = Field(min_length=1)
    subjects: Subjects
    via: tuple[Relation, ...] = (Relation.SELF,)
    conditions: tuple[Condition, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> ComparisonModel:
        if len(set(self.via)) != len(self.via) or not self.via:
            raise ValueError("via lists each relation once, at least one")
        needs_subject = [
            c for c in self.conditions
            if isinstance(c, InsuredAfterDeath) or (isinstance(c, BenefitPaid) and c.period)
        ]  # fmt: skip
        for condition in needs_subject:
            wanted = (
                "deceased"
                if isinstance(condition, InsuredAfterDeath)
                else _NEEDS_SUBJECT[condition.period]  # type: ignore[index]
            )
            if self.subjects.kind != wanted or self.via != (Relation.SELF,):
                raise ValueError(
                    f"condition {condition.kind} compares with the subject's own dates: it needs "
                    f"subjects of kind {wanted} and via = ['self']"
                )
        required = self.required_sources()
        if set(self.sources) != required or len(set(self.sources)) != len(self.sources):
            raise ValueError(
                f"sources must name exactly the registries the model reads: "
                f"{sorted(str(s) for s in required)}"
            )
        if not set(self.evidence) <= required:
            raise ValueError("evidence names a source the model does not read")
        return self

    def required_sources(self) -> set[Source]:
        """The registries a run of this model reads (the application must name them all)."""
        needed = {SUBJECT_SOURCE[self.subjects.kind]}
        if set(self.via) - {Relation.SELF}:
            needed.add(Source.HOUSEHOLD)
        for condition in self.conditions:
            needed |= condition_sources(condition)
        return needed


class LevelRule(_Frozen):
    label: str = Field(min_length=1, max_length=8)  # 红色 / 黄色 / 蓝色
    due_days: int = Field(ge=1, le=MAX_DUE_DAYS)  # a new clue is due this many days after


class RelationTable(_Frozen):
    """(subject's 与户主关系, relative's 与户主关系) pairs, same 户号, meaning each relation."""

    spouse: tuple[tuple[str, str], ...] = Field(min_length=1)
    child: tuple[tuple[str, str], ...] = Field(min_length=1)

    @field_validator("spouse", "child")
    @classmethod
    def _known_relations(cls, value: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
        for pair in value:
            _closed(tuple(dict.fromkeys(pair)), HOUSEHOLD_RELATIONS, "与户主关系")
        return value

    def pairs(self, relation: Relation) -> tuple[tuple[str, str], ...]:
        return self.spouse if relation is Relation.SPOUSE else self.child


class Catalogue(_Frozen):
    """Everything ``models.toml`` holds: the models by id, levels, relations, ledger timing."""

    models: dict[str, ComparisonModel]
    levels: dict[Level, LevelRule]
    relations: RelationTable
    due_soon_days: int = Field(ge=1, le=60)  # 临期提醒: due within this many days

    @field_validator("levels")
    @classmethod
    def _every_level(cls, value: dict[Level, LevelRule]) -> dict[Level, LevelRule]:
        if missing := sorted(set(Level) - set(value)):
            raise ValueError(f"no rule for levels {missing}")
        return value

    def model(self, model_id: str) -> ComparisonModel | None:
        return self.models.get(model_id)

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(self.models)


class ModelDefinitionError(ValueError):
    """A model file that cannot be used; the message names the entry and the field."""


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "(entry)"
    return f"{where}: {error['msg']}"


def parse_catalogue(raw: Mapping[str, Any], origin: str = "models.toml") -> Catalogue:
    """The catalogue of a parsed model file; ModelDefinitionError names the first bad entry."""
    entries = raw.get("models")
    if not isinstance(entries, list) or not entries:
        raise ModelDefinitionError(f"{origin}: no [[models]] entries")
    models: dict[str, ComparisonModel] = {}
    for place, entry in enumerate(entries, start=1):
        name = entry.get("id", "?") if isinstance(entry, dict) else "?"
        try:
            model = ComparisonModel.model_validate(entry)
        except ValidationError as exc:
            raise ModelDefinitionError(
                f"{origin}: model {place} ({name}): {_first_error(exc)}"
            ) from None
        if model.id in models:
            raise ModelDefinitionError(f"{origin}: model {place} ({name}): the id is taken")
        models[model.id] = model
    rest = {key: value for key, value in raw.items() if key != "models"}
    try:
        return Catalogue.model_validate(rest | {"models": models})
    except ValidationError as exc:
        raise ModelDefinitionError(f"{origin}: {_first_error(exc)}") from None


def load_catalogue(path: Path) -> Catalogue:
    """The catalogue of a model file; ModelDefinitionError for a file that is not valid TOML or
    holds a bad entry."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ModelDefinitionError(f"{path.name}: {exc}") from None
    return parse_catalogue(raw, path.name)


@cache
def shipped_catalogue() -> Catalogue:
    """The models the service ships, validated once per process."""
    return load_catalogue(MODELS_FILE)
