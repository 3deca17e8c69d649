"""Entity resolution of mentions without a valid number: scored, with evidence, never by name alone.

A mention (a petition's reported person known by name, unit and post; a shareholder or officer
row without a valid number) is compared with candidates that share its normalised name: officials
of the roster, and persons whom a record with a valid number ties to the same company. The name is
required but worth little on its own; a mention is resolved when one candidate reaches
``THRESHOLD`` through other evidence (same unit, same post, same company, same region and birth
date, the body of a damaged ID number) and no other candidate comes within ``MARGIN`` of it. Two
officials with the same name in different units therefore never merge: without the unit, name and
post together stay below the threshold. What is not resolved stays a mention node, with the scored
candidates as proposals an analyst can confirm or reject; decisions win over scores in every
later run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from graph.model import Resolution

# Evidence weights (sum capped at 1). Name alone (0.2) can never reach the threshold.
W_NAME = 0.2
W_UNIT_EXACT = 0.55  # name + unit resolves
W_UNIT_PARTIAL = 0.35  # one unit name contains the other (简称/全称)
W_POST = 0.2
W_SAME_COMPANY = 0.55  # a record with a valid number ties a same-name person to the company
W_REGION = 0.15  # county (6 digits) or deeper agrees
W_BIRTH_DATE = 0.4  # name + region + birth date resolves
W_ID_BODY = 0.6  # 17 of 18 characters agree: region, birth date and sequence number
THRESHOLD = 0.7
MARGIN = 0.15  # the runner-up must trail by this much, or the mention stays ambiguous
MAX_PROPOSALS = 5


class ResolutionStatus(StrEnum):
    RESOLVED = "resolved"  # by score
    CONFIRMED = "confirmed"  # by an analyst
    AMBIGUOUS = "ambiguous"  # two candidates too close to call
    UNRESOLVED = "unresolved"  # no candidate reached the threshold


class Decision(StrEnum):
    CONFIRM = "confirm"
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class Mention:
    """A person named in a record without a valid number; names and units are normalised."""

    key: str
    name: str
    display_name: str
    role: str  # reported / shareholder / officer / legal_rep
    unit: str | None = None
    post: str | None = None
    region: str | None = None  # a 行政区划代码 the record places the mention in
    birth_date: str | None = None  # YYYYMMDD
    company: str | None = None  # the credit code of the company whose record names the mention
    id_body: str | None = None  # the first 17 characters of a damaged ID number


@dataclass(frozen=True, slots=True)
class Candidate:
    """A known person (by valid number) who might be the mention."""

    node: str  # p:<id>
    name: str
    units: tuple[str, ...] = ()
    posts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    companies: frozenset[str] = field(default_factory=frozenset)

    @property
    def person_id(self) -> str:
        return self.node.partition(":")[2]


@dataclass(frozen=True, slots=True)
class Scored:
    candidate: Candidate
    score: float
    evidence: tuple[str, ...]


def _regions_agree(a: str, b: str) -> bool:
    return len(a) >= 6 and len(b) >= 6 and (a.startswith(b) or b.startswith(a))


def score(mention: Mention, candidate: Candidate) -> Scored:
    """The candidate's score for the mention, with the evidence that adds up to it (pure)."""
    if not mention.name or mention.name != candidate.name:
        return Scored(candidate, 0.0, ())
    total, evidence = W_NAME, ["姓名一致"]
    if mention.unit:
        if mention.unit in candidate.units:
            total += W_UNIT_EXACT
            evidence.append(f"工作单位一致：{mention.unit}")
        elif any(mention.unit in u or u in mention.unit for u in candidate.units if u):
            total += W_UNIT_PARTIAL
            evidence.append(f"工作单位相近：{mention.unit}")
    if mention.post and any(mention.post == p for p in candidate.posts):
        total += W_POST
        evidence.append(f"职务一致：{mention.post}")
    if mention.company and mention.company in candidate.companies:
        total += W_SAME_COMPANY
        evidence.append("同一企业的登记记录中同名且有有效证件号码")
    person_id = candidate.person_id
    if mention.id_body and person_id[:17] == mention.id_body:
        total += W_ID_BODY
        evidence.append("证件号码前17位一致（校验位错误）")
    else:
        region = mention.region
        if region and any(_regions_agree(region, r) for r in (*candidate.regions, person_id[:6])):
            total += W_REGION
            evidence.append("行政区划一致")
        if mention.birth_date and person_id[6:14] == mention.birth_date:
            total += W_BIRTH_DATE
            evidence.append("出生日期一致")
    return Scored(candidate, round(min(total, 1.0), 4), tuple(evidence))


@dataclass(frozen=True, slots=True)
class Outcome:
    """The node the mention stands for (a person, or None: it stays a mention) and why."""

    target: str | None
    resolution: Resolution


def resolve(
    mention: Mention,
    candidates: Iterable[Candidate],
    decisions: Mapping[str, Decision] | None = None,
) -> Outcome:
    """Resolve ``mention`` among ``candidates``; an analyst's decisions (node -> decision) win."""
    decisions = decisions or {}
    unique = {c.node: c for c in candidates}
    scored = sorted(
        (score(mention, c) for c in unique.values() if decisions.get(c.node) != Decision.REJECT),
        key=lambda s: (-s.score, s.candidate.node),
    )
    scored = [s for s in scored if s.score > 0]
    proposals = tuple(
        {"node": s.candidate.node, "score": s.score, "evidence": list(s.evidence)}
        for s in scored[:MAX_PROPOSALS]
    )
    confirmed = sorted(node for node, d in decisions.items() if d == Decision.CONFIRM)
    if confirmed:
        node = confirmed[0]
        evidence = next((s.evidence for s in scored if s.candidate.node == node), ())
        return Outcome(
            node,
            Resolution(
                ResolutionStatus.CONFIRMED,
                mention.key,
                1.0,
                "analyst",
                (*evidence, "分析人员确认"),
                proposals,
            ),
        )
    if not scored or scored[0].score < THRESHOLD:
        top = scored[0].score if scored else 0.0
        return Outcome(
            None, Resolution(ResolutionStatus.UNRESOLVED, mention.key, top, "score", (), proposals)
        )
    best = scored[0]
    if len(scored) > 1 and best.score - scored[1].score < MARGIN:
        return Outcome(
            None,
            Resolution(ResolutionStatus.AMBIGUOUS, mention.key, best.score, "score", (), proposals),
        )
    return Outcome(
        best.candidate.node,
        Resolution(
            ResolutionStatus.RESOLVED, mention.key, best.score, "score", best.evidence, proposals
        ),
    )
