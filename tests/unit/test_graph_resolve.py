"""Resolution of mentions without a valid number: scores, thresholds, evidence, decisions."""

from __future__ import annotations

import pytest

from graph.build import name_normaliser
from graph.resolve import (
    THRESHOLD,
    Candidate,
    Decision,
    Mention,
    ResolutionStatus,
    resolve,
    score,
)

A = Candidate(
    "p:460106198001010011",
    "方红莉",
    units=("海南省农业农村厅",),
    posts=("主任科员",),
    regions=("46",),
)
B = Candidate(
    "p:469002199105278322",
    "方红莉",
    units=("博鳌镇粮食管理所",),
    posts=("所长",),
    regions=("469002101",),
)


def mention(**fields: str | None) -> Mention:
    base: dict[str, str | None] = {"name": "方红莉"}
    base.update(fields)
    name = base.pop("name") or ""
    return Mention("k1", name, name, "reported", **base)


def test_name_alone_never_resolves() -> None:
    outcome = resolve(mention(), [A])
    assert outcome.target is None
    assert outcome.resolution.status == ResolutionStatus.UNRESOLVED
    assert score(mention(), A).score < THRESHOLD


def test_name_and_unit_resolve_to_the_official_of_that_unit_not_the_namesake() -> None:
    outcome = resolve(mention(unit="海南省农业农村厅", post="主任科员"), [A, B])
    assert outcome.target == A.node
    assert outcome.resolution.status == ResolutionStatus.RESOLVED
    assert "工作单位一致：海南省农业农村厅" in outcome.resolution.evidence
    assert [c["node"] for c in outcome.resolution.candidates] == [A.node, B.node]


def test_name_and_post_without_the_unit_stay_a_mention() -> None:
    assert resolve(mention(post="所长", unit="某县某局"), [B]).target is None


def test_a_different_name_scores_nothing() -> None:
    assert score(mention(name="方红丽", unit="海南省农业农村厅"), A).score == 0.0


def test_two_equally_good_candidates_are_ambiguous() -> None:
    twin = Candidate("p:460106198001010029", "方红莉", units=("海南省农业农村厅",))
    outcome = resolve(mention(unit="海南省农业农村厅"), [A, twin])
    assert outcome.target is None
    assert outcome.resolution.status == ResolutionStatus.AMBIGUOUS
    assert len(outcome.resolution.candidates) == 2


def test_name_region_and_birth_date_resolve() -> None:
    person = Candidate("p:460106198001010011", "方红莉")
    outcome = resolve(mention(region="460106", birth_date="19800101"), [person])
    assert outcome.target == person.node
    assert "出生日期一致" in outcome.resolution.evidence


def test_the_body_of_a_damaged_number_is_evidence() -> None:
    person = Candidate("p:460106198001010011", "方红莉")
    outcome = resolve(mention(id_body="46010619800101001"), [person])
    assert outcome.target == person.node


def test_the_same_company_ties_an_officer_without_a_number() -> None:
    person = Candidate("p:460106198001010011", "方红莉", companies=frozenset({"91X"}))
    assert resolve(mention(company="91X"), [person]).target == person.node


def test_a_rejected_candidate_is_never_chosen_again() -> None:
    decided = {A.node: Decision.REJECT}
    outcome = resolve(mention(unit="海南省农业农村厅"), [A, B], decided)
    assert outcome.target is None
    assert A.node not in [c["node"] for c in outcome.resolution.candidates]


@pytest.mark.parametrize("extra", [{}, {"unit": "博鳌镇粮食管理所"}])
def test_a_confirmed_candidate_wins_over_the_score(extra: dict[str, str]) -> None:
    outcome = resolve(mention(**extra), [A, B], {A.node: Decision.CONFIRM})
    assert outcome.target == A.node
    assert outcome.resolution.status == ResolutionStatus.CONFIRMED
    assert "分析人员确认" in outcome.resolution.evidence


@pytest.mark.parametrize(
    ("written", "normalised"),
    [
        ("阿依古丽·买买提", "阿依古丽买买提"),
        ("阿依古丽•买买提", "阿依古丽买买提"),
        ("張　偉", "张伟"),
        ("陳红", "陈红"),
    ],
)
def test_names_are_compared_simplified_without_dots_or_spaces(
    written: str, normalised: str
) -> None:
    simplify = {"張": "张", "偉": "伟", "陳": "陈"}
    normalise = name_normaliser(lambda text: "".join(simplify.get(c, c) for c in text))
    assert normalise(written) == normalised
