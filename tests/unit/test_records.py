"""Rows to documents without a cluster: keys, rejects, warnings, sealed fields, mappings."""

from __future__ import annotations

import json

import pytest

from analyzers.chinese import TextAnalyzer, build_text_analyzer
from analyzers.ids import id_check_char, uscc_check_char
from common.vocab import Source
from indexer.records import Built, Rejected, build_record, document_id
from registry.mapping import source_mapping
from registry.sources import (
    Column,
    Kind,
    SourceDefinitionError,
    SourceSpec,
    _validate,
    load_sources,
)

SPECS = load_sources()
PID = "46010619700101001" + id_check_char("46010619700101001")
PID_2 = "46010619800202002" + id_check_char("46010619800202002")
USCC = "91460100MA5T00001" + uscc_check_char("91460100MA5T00001")


@pytest.fixture(scope="module")
def analysis(tmp_path_factory: pytest.TempPathFactory) -> TextAnalyzer:
    return build_text_analyzer([], tmp_path_factory.mktemp("jieba"))


def build(source: Source, values: dict[str, object], analysis: TextAnalyzer) -> Built | Rejected:
    return build_record(SPECS[source], values, analysis, "f.csv", 2)


def built(source: Source, values: dict[str, object], analysis: TextAnalyzer) -> Built:
    record = build(source, values, analysis)
    assert isinstance(record, Built), record
    return record


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"姓名": "王伟"}, "missing key field 公民身份号码"),
        ({"公民身份号码": "NULL"}, "missing key field 公民身份号码"),
        (
            {"公民身份号码": "4.60102E+17"},
            "invalid key field 公民身份号码: ID number in scientific notation",
        ),
        ({"公民身份号码": PID[:-1] + ("0" if PID[-1] != "0" else "1")}, "check character"),
    ],
)
def test_bad_key_rejects_with_reason(
    values: dict[str, object], reason: str, analysis: TextAnalyzer
) -> None:
    record = build(Source.HOUSEHOLD, values, analysis)
    assert isinstance(record, Rejected)
    assert reason in record.reason


def test_fifteen_digit_id_is_indexed_as_eighteen(analysis: TextAnalyzer) -> None:
    record = built(Source.HOUSEHOLD, {"公民身份号码": "460106700101001"}, analysis)
    assert record.document["id_number"] == "460106197001010010"[:17] + id_check_char(
        "46010619700101001"
    )
    assert record.document["persons"] == [record.document["id_number"]]


def test_invalid_non_key_id_is_kept_raw_and_links_nobody(analysis: TextAnalyzer) -> None:
    record = built(
        Source.COMPANY, {"统一社会信用代码": USCC, "法定代表人证件号码": "12345"}, analysis
    )
    assert record.document["legal_rep_id"] == "12345"
    assert "persons" not in record.document
    assert record.warnings == ["法定代表人证件号码: not a valid identity number"]


def test_traditional_name_is_simplified_for_search_and_kept_for_display(
    analysis: TextAnalyzer,
) -> None:
    doc = built(Source.HOUSEHOLD, {"公民身份号码": PID, "姓名": " 陳建國 "}, analysis).document
    assert doc["name"] == "陳建國"
    assert doc["names"] == ["陈建国"]
    assert doc["all_text"] == ["陈建国", "陳建國"]
    assert (doc["names_pinyin"], doc["names_initials"]) == (["chenjianguo"], ["cjg"])


def test_middle_dot_forms_are_unified(analysis: TextAnalyzer) -> None:
    doc = built(
        Source.HOUSEHOLD, {"公民身份号码": PID, "姓名": "阿依古丽•买买提"}, analysis
    ).document
    assert doc["names"] == ["阿依古丽·买买提"]
    assert doc["names_nodot"] == ["阿依古丽买买提"]


def test_petition_complainant_is_sealed_and_reported_persons_are_aligned(
    analysis: TextAnalyzer,
) -> None:
    values: dict[str, object] = {
        "信访件编号": "XF001",
        "反映人姓名": "赵六",
        "反映人证件号码": PID_2,
        "反映人联系电话": "13900000000",
        "被反映人姓名": "张三；李四",
        "被反映人证件号码": f"；{PID}",
        "被反映人单位": "某局；某县",
        "内容": "反映张三和李四的问题",
        "问题属地行政区划代码": "460106",
    }
    record = built(Source.PETITION, values, analysis)
    blob = json.dumps(record.document, ensure_ascii=False)
    assert record.sealed == {
        "complainant_name": "赵六",
        "complainant_id": PID_2,
        "complainant_phone": "13900000000",
    }
    assert "赵六" not in blob
    assert PID_2 not in blob
    assert record.document["reported"] == [
        {"name": "张三", "unit": "某局"},
        {"name": "李四", "id_number": PID, "unit": "某县"},
    ]
    assert record.document["persons"] == [PID]
    assert record.document["tier"] == "县"
    assert record.document["region_prefixes"] == ["46", "4601", "460106"]


@pytest.mark.parametrize(("written", "tier"), [("省", "省"), ("乡镇", "乡"), ("县级", "县")])
def test_the_handling_level_is_read_apart_from_the_localitys_tier(
    written: str, tier: str, analysis: TextAnalyzer
) -> None:
    values = {"信访件编号": "XF1", "问题属地行政区划代码": "460106", "承办层级": written}
    doc = built(Source.PETITION, values, analysis).document
    assert (doc["handling_tier"], doc["tier"]) == (tier, "县")


def test_an_unknown_handling_level_is_kept_raw_with_a_warning(analysis: TextAnalyzer) -> None:
    values = {"信访件编号": "XF1", "承办层级": "中央"}
    record = built(Source.PETITION, values, analysis)
    assert "handling_tier" not in record.document
    assert record.document["unparsed"] == {"handling_tier": "中央"}
    assert record.warnings == ["承办层级: not an administrative level (省/市/县/乡)"]


def test_unknown_columns_are_kept_under_extra(analysis: TextAnalyzer) -> None:
    doc = built(Source.HOUSEHOLD, {"公民身份号码": PID, "备注": "补录"}, analysis).document
    assert doc["extra"] == {"备注": "补录"}


def test_unparseable_date_is_kept_raw_with_a_warning(analysis: TextAnalyzer) -> None:
    record = built(Source.HOUSEHOLD, {"公民身份号码": PID, "出生日期": "2019-13-45"}, analysis)
    assert "birth_date" not in record.document
    assert record.document["unparsed"] == {"birth_date": "2019-13-45"}
    assert len(record.warnings) == 1


def test_version_follows_registration_date(analysis: TextAnalyzer) -> None:
    early = built(Source.HOUSEHOLD, {"公民身份号码": PID, "登记日期": "2020-01-01"}, analysis)
    late = built(Source.HOUSEHOLD, {"公民身份号码": PID, "登记日期": "2024年6月1日"}, analysis)
    assert early.doc_id == late.doc_id
    assert early.version is not None
    assert late.version is not None
    assert late.version > early.version


def test_shareholder_key_includes_the_normalised_holder_id(analysis: TextAnalyzer) -> None:
    a = built(
        Source.SHAREHOLDER,
        {"统一社会信用代码": USCC, "股东名称": "王伟", "证照号码": PID},
        analysis,
    )
    b = built(
        Source.SHAREHOLDER,
        {"统一社会信用代码": USCC, "股东名称": "王伟", "证照号码": PID_2},
        analysis,
    )
    assert a.doc_id != b.doc_id
    assert a.key == f"{USCC}|王伟|{PID}"


def test_document_id_is_deterministic() -> None:
    spec = SPECS[Source.HOUSEHOLD]
    assert document_id(spec, PID) == document_id(spec, PID)
    assert document_id(spec, PID) != document_id(SPECS[Source.OFFICIAL], PID)


@pytest.mark.parametrize("source", list(Source))
def test_mapping_is_strict_and_names_no_sealed_field(source: Source) -> None:
    mapping = source_mapping(SPECS[source])
    assert mapping["dynamic"] == "strict"
    text = json.dumps(mapping)
    assert "complainant" not in text
    unsealed = {
        c.field for c in SPECS[source].columns if c.kind is not Kind.SEALED and c.group is None
    }
    assert unsealed <= set(mapping["properties"])


def test_a_bad_source_definition_names_the_entry() -> None:
    spec = SourceSpec(
        Source.HOUSEHOLD,
        "x",
        (Column("公民身份号码", "id_number", Kind.PERSON_ID, True),),
        ("nope",),
    )
    with pytest.raises(SourceDefinitionError, match="'nope' is not a field"):
        _validate(spec)


def test_every_source_has_a_definition() -> None:
    assert set(SPECS) == set(Source)


def test_shareholder_is_placed_by_the_credit_codes_registration_region(
    analysis: TextAnalyzer,
) -> None:
    doc = built(
        Source.SHAREHOLDER, {"统一社会信用代码": USCC, "股东名称": "王伟"}, analysis
    ).document
    assert USCC[2:8] == "460100"
    assert doc["region_prefixes"] == ["46", "4601"]
    assert doc["tier"] == "市"
