"""The 一人一档 as the page and its PDF show it (pure: a masked profile in, plain rows out).

Everything shown comes from the profile the JSON route returns (search_api.profile_search):
masking happened there, once. This module only arranges it: a section per source with labelled
columns, the person's records on one timeline by date, the household, the companies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from registry.fields import ColumnField, Envelope
from search_api.models.profiles import PersonProfileResponse
from search_api.models.records import RecordResponse
from search_api.web.labels import field_labels, source_label

SHOWN_COLUMNS = 10  # columns of a record in its source's section; the rest stays in the API
TIMELINE_FIELDS = 3  # the columns that sum a record up on the timeline
# Envelope fields are the index's bookkeeping, not what the registry wrote.
_HIDDEN = frozenset({Envelope.SOURCE, Envelope.RECORD_KEY, Envelope.FILE, Envelope.LINE,
                     Envelope.PERSONS, Envelope.COMPANIES, Envelope.NAMES, Envelope.NAMES_NODOT,
                     Envelope.NAMES_PINYIN, Envelope.NAMES_INITIALS, Envelope.ORGS,
                     Envelope.REGION_PREFIXES, Envelope.TIER, Envelope.RECORD_DATE,
                     Envelope.ALL_TEXT, Envelope.ALL_TOKENS, Envelope.WARNINGS})  # fmt: skip


@dataclass(frozen=True, slots=True)
class RecordRow:
    id: str
    source: str
    date: str | None
    fields: list[tuple[str, str]]
    petition_no: str | None  # a petition's number: its similar petitions can be asked for


@dataclass(frozen=True, slots=True)
class Section:
    source: str
    label: str
    total: int
    rows: list[RecordRow]

    @property
    def cut(self) -> bool:
        return self.total > len(self.rows)


@dataclass(frozen=True, slots=True)
class ProfileView:
    profile: PersonProfileResponse
    name: str
    facts: list[tuple[str, str]]
    sections: list[Section]
    timeline: list[RecordRow]


def shown_value(value: Any) -> str | None:
    """A value as one line of text; nested values (a petition's reported persons) are shown
    by their names."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, list):
        parts = [p for v in value if (p := shown_value(v))]
        return "；".join(parts) if parts else None
    if isinstance(value, dict):
        return shown_value(value.get(ColumnField.NAME))
    return None


def record_row(record: RecordResponse) -> RecordRow:
    """A masked record as a row: its date and labelled columns, in the source's order."""
    labels = field_labels()
    fields = [(labels.get(k, k), text) for k, v in record.record.items()
              if k not in _HIDDEN and (text := shown_value(v))]  # fmt: skip
    date = record.record.get(Envelope.RECORD_DATE)
    number = record.record.get(ColumnField.PETITION_NO)
    return RecordRow(
        id=record.id,
        source=source_label(record.source),
        date=str(date)[:10] if date else None,
        fields=fields[:SHOWN_COLUMNS],
        petition_no=str(number) if number else None,
    )


def timeline(sections: list[Section]) -> list[RecordRow]:
    """Every shown record on one line by date, oldest first; undated records last."""
    rows = [r for s in sections for r in s.rows]
    dated = sorted((r for r in rows if r.date), key=lambda r: (r.date or "", r.source))
    return dated + [r for r in rows if not r.date]


def profile_view(profile: PersonProfileResponse, fact_labels: dict[str, str]) -> ProfileView:
    """The page's arrangement of ``profile``; ``fact_labels`` names the header's facts."""
    sections = [
        Section(g.source, g.label, g.total, [record_row(r) for r in g.records])
        for g in profile.groups
    ]
    values = {
        "id_number": profile.id_number,
        "gender": profile.gender,
        "birth_date": profile.birth_date,
        "ethnicity": profile.ethnicity,
        "region_code": profile.region_code,
        "status": profile.status,
        "death_date": profile.death_date,
    }
    facts = [(fact_labels[k], v) for k, v in values.items() if v]
    name = "、".join(profile.names) if profile.names else profile.id_number
    return ProfileView(profile, name, facts, sections, timeline(sections))


def summary(row: RecordRow) -> str:
    """A record in a few words (the timeline's line)."""
    return "，".join(f"{label}：{value}" for label, value in row.fields[:TIMELINE_FIELDS])
