"""Household relations derived from 与户主关系, without a cluster."""

from __future__ import annotations

import pytest

from graph.household import MAX_HOUSEHOLD_MEMBERS, Member, ToHead, household_pairs, to_head
from graph.model import EdgeKind, Relation, edge_labels


@pytest.mark.parametrize(
    ("first", "second", "relation", "src"),
    [
        ("户主", "配偶", Relation.SPOUSE, "a"),
        ("户主", "子", Relation.PARENT, "a"),
        ("户主", "女", Relation.PARENT, "a"),
        ("子", "户主", Relation.PARENT, "b"),
        ("户主", "父亲", Relation.PARENT, "b"),
        ("配偶", "女", Relation.PARENT, "a"),
        ("子", "女", Relation.SIBLING, "a"),
        ("父亲", "母亲", Relation.SPOUSE, "a"),
        ("户主", "孙女", Relation.GRANDPARENT, "a"),
        ("户主", "儿媳", Relation.IN_LAW, "a"),
        ("配偶", "母亲", Relation.IN_LAW, "a"),
        ("子", "儿媳", Relation.MEMBER, "a"),  # spouse or sibling-in-law: the register cannot say
        ("户主", "其他", Relation.MEMBER, "a"),
        ("户主", "表弟", Relation.MEMBER, "a"),  # unknown label
    ],
)
def test_pair_relation_follows_the_relations_to_the_head(
    first: str, second: str, relation: Relation, src: str
) -> None:
    (pair,) = household_pairs([Member("a", first), Member("b", second)])
    assert pair.relation is relation
    assert pair.src.person_id == src


def test_unknown_labels_are_other() -> None:
    assert to_head(None) is ToHead.OTHER
    assert to_head(" 配偶 ") is ToHead.SPOUSE


def test_a_collective_household_yields_no_relations() -> None:
    members = [Member(f"p{i}", "其他") for i in range(MAX_HOUSEHOLD_MEMBERS + 1)]
    assert list(household_pairs(members)) == []
    assert len(list(household_pairs(members[:4]))) == 6


def test_a_person_listed_twice_is_one_member() -> None:
    assert len(list(household_pairs([Member("a", "户主"), Member("a", "户主")]))) == 0


@pytest.mark.parametrize(
    ("kind", "relation", "percent", "post", "labels"),
    [
        (EdgeKind.HOUSEHOLD, Relation.SPOUSE, None, None, ("配偶", "配偶")),
        (EdgeKind.HOUSEHOLD, Relation.PARENT, None, None, ("子女", "父母")),
        (EdgeKind.SHAREHOLDER, None, 45.0, None, ("股东(45%)", "股东(45%)")),
        (EdgeKind.OWNS, None, 100.0, None, ("控股(100%)", "股东(100%)")),
        (EdgeKind.OWNS, None, 30.0, None, ("参股(30%)", "股东(30%)")),
        (EdgeKind.LEGAL_REP, None, None, None, ("法定代表人", "法定代表人")),
        (EdgeKind.OFFICER, None, None, "监事", ("监事", "监事")),
    ],
)
def test_edge_labels_read_in_both_directions(
    kind: EdgeKind,
    relation: Relation | None,
    percent: float | None,
    post: str | None,
    labels: tuple[str, str],
) -> None:
    assert edge_labels(kind, relation, percent, post) == labels
