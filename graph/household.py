"""Household relations: from each member's 与户主关系 to a typed relation between two members.

The register states each member's relation to the head only. Relations between two other members
are derived where the register leaves no doubt (the head's spouse and the head's child: parent and
child; two children of the head: siblings); where it does (a child and a 儿媳: spouse or
sibling-in-law), the edge says only ``MEMBER`` (same household). Assumption: the head's spouse is
the parent of the head's children (the register does not record step-parents separately).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

from graph.model import Relation


class ToHead(StrEnum):
    """A member's relation to the head of the household, as the register states it."""

    HEAD = "head"
    SPOUSE = "spouse"
    CHILD = "child"
    PARENT = "parent"
    SIBLING = "sibling"
    GRANDCHILD = "grandchild"
    CHILD_IN_LAW = "child_in_law"
    OTHER = "other"


_LABELS: dict[ToHead, tuple[str, ...]] = {
    ToHead.HEAD: ("户主",),
    ToHead.SPOUSE: ("配偶", "妻", "夫", "妻子", "丈夫"),
    ToHead.CHILD: (
        "子",
        "女",
        "儿子",
        "女儿",
        "长子",
        "次子",
        "三子",
        "长女",
        "次女",
        "三女",
        "养子",
        "养女",
        "独生子",
        "独生女",
    ),
    ToHead.PARENT: ("父亲", "母亲", "父", "母", "养父", "养母"),
    ToHead.SIBLING: ("兄弟", "姐妹", "兄", "弟", "姐", "妹", "哥哥", "弟弟", "姐姐", "妹妹"),
    ToHead.GRANDCHILD: ("孙子", "孙女", "外孙子", "外孙女", "外孙"),
    ToHead.CHILD_IN_LAW: ("儿媳", "女婿"),
}
_BY_LABEL = {label: kind for kind, labels in _LABELS.items() for label in labels}

# A household with more members is a collective household (集体户: a unit's, a school's): its
# members are not relatives, and n² "relations" among them would drown every real one.
MAX_HOUSEHOLD_MEMBERS = 30


def to_head(label: str | None) -> ToHead:
    """The relation to the head from the register's label; anything unknown is ``OTHER``."""
    return _BY_LABEL.get((label or "").strip(), ToHead.OTHER)


# Unordered pair of relations to the head -> (relation, True when the first of the pair is src).
_PAIRS: dict[tuple[ToHead, ToHead], tuple[Relation, bool]] = {
    (ToHead.HEAD, ToHead.SPOUSE): (Relation.SPOUSE, True),
    (ToHead.HEAD, ToHead.CHILD): (Relation.PARENT, True),
    (ToHead.HEAD, ToHead.PARENT): (Relation.PARENT, False),
    (ToHead.HEAD, ToHead.SIBLING): (Relation.SIBLING, True),
    (ToHead.HEAD, ToHead.GRANDCHILD): (Relation.GRANDPARENT, True),
    (ToHead.HEAD, ToHead.CHILD_IN_LAW): (Relation.IN_LAW, True),
    (ToHead.SPOUSE, ToHead.CHILD): (Relation.PARENT, True),
    (ToHead.SPOUSE, ToHead.GRANDCHILD): (Relation.GRANDPARENT, True),
    (ToHead.SPOUSE, ToHead.PARENT): (Relation.IN_LAW, True),
    (ToHead.SPOUSE, ToHead.SIBLING): (Relation.IN_LAW, True),
    (ToHead.SPOUSE, ToHead.CHILD_IN_LAW): (Relation.IN_LAW, True),
    (ToHead.CHILD, ToHead.CHILD): (Relation.SIBLING, True),
    (ToHead.CHILD, ToHead.PARENT): (Relation.GRANDPARENT, False),
    (ToHead.PARENT, ToHead.PARENT): (Relation.SPOUSE, True),
    (ToHead.PARENT, ToHead.SIBLING): (Relation.PARENT, True),
    (ToHead.SIBLING, ToHead.SIBLING): (Relation.SIBLING, True),
}


def pair_relation(first: ToHead, second: ToHead) -> tuple[Relation, bool]:
    """The relation between two members and whether ``first`` is its src."""
    if (first, second) in _PAIRS:
        return _PAIRS[(first, second)]
    if (second, first) in _PAIRS:
        relation, first_is_src = _PAIRS[(second, first)]
        return relation, not first_is_src
    return Relation.MEMBER, True


@dataclass(frozen=True, slots=True)
class Member:
    """One person of a household as the register holds them."""

    person_id: str
    label: str | None  # 与户主关系 as written


@dataclass(frozen=True, slots=True)
class MemberPair:
    src: Member
    dst: Member
    relation: Relation


def household_pairs(members: Sequence[Member]) -> Iterator[MemberPair]:
    """Every pair of distinct members with its relation; none for a collective household."""
    unique = list({m.person_id: m for m in members}.values())
    if len(unique) > MAX_HOUSEHOLD_MEMBERS:
        return
    for a, b in itertools.combinations(unique, 2):
        relation, a_is_src = pair_relation(to_head(a.label), to_head(b.label))
        yield MemberPair(a, b, relation) if a_is_src else MemberPair(b, a, relation)
