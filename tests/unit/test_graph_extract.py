"""Edges from source documents, without a cluster: kinds, provenance, mentions, no complainant."""

from __future__ import annotations

from typing import Any

from analyzers.ids import id_check_char, uscc_check_char
from graph.extract import (
    PendingEdge,
    household_edges,
    insured_edges,
    officer_edges,
    petition_edges,
    property_edges,
    shared_prefixes,
    shareholder_edges,
)
from graph.model import Edge, EdgeKind, Relation
from graph.store import edge_document, edge_id

PID = "46010619700101001" + id_check_char("46010619700101001")
PID_2 = "46010619800202002" + id_check_char("46010619800202002")
USCC = "91460106MA5T00001" + uscc_check_char("91460106MA5T00001")
USCC_2 = "91460106MA5T00002" + uscc_check_char("91460106MA5T00002")
PREFIXES = ["46", "4601", "460106"]


def same(text: str) -> str:
    return text


def doc(source: str, **fields: Any) -> dict[str, Any]:
    return {"source": source, "region_prefixes": PREFIXES, **fields}


def test_a_person_shareholder_is_an_edge_with_its_percentage_and_record() -> None:
    row = doc(
        "shareholder",
        credit_code=USCC,
        company_name="某公司",
        holder_name="黄磊",
        holder_id=PID,
        share_percent=45.0,
    )
    (edge,) = shareholder_edges("r1", row, same)
    assert isinstance(edge, Edge)
    assert (edge.kind, edge.src, edge.dst, edge.percent) == (
        EdgeKind.SHAREHOLDER,
        f"p:{PID}",
        f"c:{USCC}",
        45.0,
    )
    assert edge.record_ids == ("r1",)
    assert edge.labels == ("股东(45%)", "股东(45%)")


def test_a_corporate_shareholder_is_company_ownership() -> None:
    row = doc(
        "shareholder", credit_code=USCC, holder_name="母公司", holder_id=USCC_2, share_percent=100.0
    )
    (edge,) = shareholder_edges("r1", row, same)
    assert isinstance(edge, Edge)
    assert (edge.kind, edge.src, edge.dst) == (EdgeKind.OWNS, f"c:{USCC_2}", f"c:{USCC}")


def test_a_holder_with_a_damaged_number_is_a_mention_with_the_number_body() -> None:
    damaged = PID[:17] + ("0" if PID[17] != "0" else "1")
    row = doc("shareholder", credit_code=USCC, holder_name="黄磊", holder_id=damaged)
    (pending,) = shareholder_edges("r1", row, same)
    assert isinstance(pending, PendingEdge)
    assert pending.side == "src"
    assert pending.edge.src.startswith("m:")
    assert pending.mention.id_body == PID[:17]
    assert pending.mention.company == USCC


def test_an_officer_without_a_number_is_a_mention_in_the_company() -> None:
    (pending,) = officer_edges(
        "r1", doc("company_officer", credit_code=USCC, name="张三", post="监事"), same
    )
    assert isinstance(pending, PendingEdge)
    assert pending.edge.post == "监事"
    assert pending.mention.company == USCC


def test_reported_persons_link_by_number_or_stay_mentions_and_the_complainant_never_does() -> None:
    row = doc(
        "petition",
        petition_no="XF1",
        region_code="460106",
        complainant_name="王五",
        complainant_id=PID_2,  # as if a sealed field slipped in
        reported=[
            {"name": "黄磊", "id_number": PID},
            {"name": "方红莉", "unit": "某局", "post": "局长"},
        ],
    )
    edges = petition_edges("r1", row, same)
    assert len(edges) == 2
    first, second = edges
    assert isinstance(first, Edge)
    assert first.dst == f"p:{PID}"
    assert first.src == "x:XF1"
    assert isinstance(second, PendingEdge)
    assert (second.mention.unit, second.mention.post) == ("某局", "局长")
    assert all(
        f"p:{PID_2}" not in (getattr(e, "edge", e).src, getattr(e, "edge", e).dst) for e in edges
    )


def test_mention_keys_are_stable_across_runs() -> None:
    row = doc("petition", petition_no="XF1", reported=[{"name": "方红莉"}])
    first, again = petition_edges("r1", row, same), petition_edges("r1", row, same)
    assert isinstance(first[0], PendingEdge)
    assert isinstance(again[0], PendingEdge)
    assert first[0].mention.key == again[0].mention.key


def test_insurance_rows_of_one_employer_are_one_employment_edge() -> None:
    rows = [
        (
            "r1",
            doc(
                "insured",
                id_number=PID,
                employer_code=USCC,
                insurance_type="养老",
                insured_on="2019-01-01",
                status="参保缴费",
            ),
        ),
        (
            "r2",
            doc(
                "insured",
                id_number=PID,
                employer_code=USCC,
                insurance_type="医疗",
                insured_on="2018-05-01",
                status="参保缴费",
            ),
        ),
        (
            "r3",
            doc(
                "insured",
                id_number=PID,
                employer_code=USCC_2,
                insurance_type="养老",
                insured_on="2010-01-01",
                stopped_on="2017-12-31",
                status="终止参保",
            ),
        ),
    ]
    edges = insured_edges(rows)
    assert [(e.dst, e.record_ids, e.start_date, e.end_date) for e in edges] == [
        (f"c:{USCC}", ("r1", "r2"), "2018-05-01", None),
        (f"c:{USCC_2}", ("r3",), "2010-01-01", "2017-12-31"),
    ]


def test_co_owners_of_one_unit_are_linked_pairwise_and_cancelled_rights_are_not() -> None:
    rows = [
        ("r1", doc("property", unit_no="U1", owner_name="甲", owner_id=PID, share="50%")),
        ("r2", doc("property", unit_no="U1", owner_name="乙", owner_id=PID_2, share="50%")),
        (
            "r3",
            doc(
                "property",
                unit_no="U1",
                owner_name="丙",
                owner_id=USCC,
                registration_type="注销登记",
            ),
        ),
    ]
    (edge,) = property_edges(rows)
    assert (edge.kind, {edge.src, edge.dst}) == (EdgeKind.CO_OWNER, {f"p:{PID}", f"p:{PID_2}"})
    assert edge.record_ids == ("r1", "r2")


def test_a_household_relation_carries_only_the_regions_both_records_share() -> None:
    rows = [
        ("r1", doc("household", id_number=PID, name="熊峰", household_no="H1", relation="户主")),
        (
            "r2",
            {
                **doc(
                    "household", id_number=PID_2, name="金梅", household_no="H1", relation="配偶"
                ),
                "region_prefixes": ["46", "4601", "460105"],
            },
        ),
    ]
    (edge,) = household_edges(rows)
    assert edge.relation is Relation.SPOUSE
    assert edge.region_prefixes == ("46", "4601")
    assert shared_prefixes([]) == ()


def test_edge_documents_are_deterministic_and_carry_provenance() -> None:
    row = doc(
        "shareholder",
        credit_code=USCC,
        holder_name="黄磊",
        holder_id=PID,
        share_percent=45.0,
        record_date="2020-01-02",
    )
    (edge,) = shareholder_edges("r1", row, same)
    assert isinstance(edge, Edge)
    assert edge_id(edge) == edge_id(shareholder_edges("r1", row, same)[0])  # type: ignore[arg-type]
    document = edge_document(edge)
    assert document["nodes"] == [f"p:{PID}", f"c:{USCC}"]
    assert (document["source"], document["record_ids"], document["start_date"]) == (
        "shareholder",
        ["r1"],
        "2020-01-02",
    )
