"""Log entries as the review sees them: parsed times, subject pseudonyms, normalised purposes.

Subjects are the pseudonyms (``masked~<16 hex>``) the gate writes in place of ID and phone
numbers in a request's ``params``; two look-ups of one person carry the same tag, and the tag of
a user's own ID number, computed with the same key, says whether they looked up themselves.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from analyzers.identifiers import sensitive_spans
from query_logs.audit import AuditEntry, load_json

_PSEUDONYM = re.compile(r"[0-9Xx*]{1,18}~([0-9a-f]{16})(?![0-9a-f])")
_TAG = re.compile(r"[0-9a-f]{16}")
TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


@dataclass(frozen=True, slots=True)
class Event:
    """The parts of one entry that the rules read."""

    seq: int
    at: datetime
    kind: str
    actor: str | None
    actor_role: str | None
    application_id: str | None
    case_id: str | None
    purpose: str | None
    outcome: str | None
    hit_count: int | None
    subjects: tuple[str, ...]  # pseudonyms, in order of appearance, without repeats

    @property
    def tags(self) -> frozenset[str]:
        return frozenset(tag_of(s) for s in self.subjects)


def tag_of(pseudonym: str) -> str:
    """The keyed-hash tag of a pseudonym (``masked~tag``) or of a bare tag; else ValueError."""
    tag = pseudonym.rpartition("~")[2].strip().lower()
    if not _TAG.fullmatch(tag):
        raise ValueError("not a pseudonym or pseudonym tag")
    return tag


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def subjects_in(params_text: str | None) -> tuple[str, ...]:
    """Every pseudonym in a stored ``params`` field (any key, any depth), without repeats."""
    try:
        params = load_json(params_text)
    except ValueError:  # not JSON: a damaged entry, which ``verify_log`` reports
        return ()
    found: dict[str, None] = {}
    for text in _strings(params):
        for match in _PSEUDONYM.finditer(text):
            found.setdefault(match.group(0), None)
    return tuple(found)


def parse_ts(ts: str) -> datetime:
    """The log's fixed-width UTC text as an aware datetime."""
    return datetime.strptime(ts, TS_FORMAT).replace(tzinfo=UTC)


def to_event(entry: AuditEntry) -> Event:
    return Event(
        seq=entry.seq,
        at=parse_ts(entry.ts),
        kind=entry.kind,
        actor=entry.actor,
        actor_role=entry.actor_role,
        application_id=entry.application_id,
        case_id=entry.case_id,
        purpose=entry.purpose,
        outcome=entry.outcome,
        hit_count=entry.hit_count,
        subjects=subjects_in(entry.params),
    )


def normalise_purpose(text: str) -> str:
    """NFKC, lower case, without whitespace and punctuation: what copy-and-paste keeps."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LN")


def mask_raw_identifiers(text: str) -> str:
    """``text`` with anything that could be an ID or phone number starred out, however it is
    written (analyzers.identifiers), before a report quotes it."""
    parts, at = [], 0
    for span in sensitive_spans(text):
        parts += [text[at : span.start], "*" * (span.end - span.start)]
        at = span.end
    return "".join([*parts, text[at:]])


def quote(text: str, limit: int = 60) -> str:
    """A purpose as a report quotes it: identifiers masked, shortened, on one line."""
    flat = " ".join(mask_raw_identifiers(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def dense_runs(
    events: Sequence[Event], span: timedelta, threshold: int, keys: Callable[[Event], Iterable[str]]
) -> list[list[Event]]:
    """Maximal runs of time-ordered ``events`` in which some window of ``span`` holds at least
    ``threshold`` distinct keys; overlapping windows merge into one run (one finding)."""
    counts: Counter[str] = Counter()
    runs: list[tuple[int, int]] = []
    left = 0
    for right, event in enumerate(events):
        counts.update(set(keys(event)))
        while event.at - events[left].at > span:
            for key in set(keys(events[left])):
                counts[key] -= 1
                if not counts[key]:
                    del counts[key]  # so len(counts) is the number of keys in the window
            left += 1
        if len(counts) >= threshold:
            if runs and left <= runs[-1][1]:
                runs[-1] = (runs[-1][0], right)
            else:
                runs.append((left, right))
    return [list(events[a : b + 1]) for a, b in runs]
