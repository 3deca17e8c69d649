"""The comparison models are validated data: the shipped file holds the issue's eight models,
and a bad entry fails at load with a message naming the model and the field."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest

from common.vocab import Source
from comparison.definitions import (
    MODELS_FILE,
    Level,
    ModelDefinitionError,
    load_catalogue,
    parse_catalogue,
    shipped_catalogue,
)

EIGHT = {
    "deceased_pension": ("死亡人员领取养老金", Level.RED),
    "funded_on_dibao": ("财政供养人员（本人或配偶）享受低保", Level.RED),
    "dibao_multi_property": ("低保对象名下多套住房", Level.YELLOW),
    "dibao_company": ("低保对象经营企业", Level.YELLOW),
    "official_relative_business": ("公职人员配偶子女经营企业", Level.BLUE),
    "deceased_insured_paying": ("死亡人员仍在参保缴费", Level.YELLOW),
    "duplicate_benefit": ("同期重复领取同类待遇", Level.YELLOW),
    "official_unemployment": ("在职公职人员领取失业保险金", Level.RED),
}


def _raw() -> dict[str, Any]:
    return tomllib.loads(MODELS_FILE.read_text(encoding="utf-8"))


def test_the_shipped_file_holds_the_eight_models_of_the_issue() -> None:
    catalogue = shipped_catalogue()
    assert {m.id: (m.name, m.level) for m in catalogue.models.values()} == EIGHT


@pytest.mark.parametrize(
    ("model_id", "sources"),
    [
        ("deceased_pension", {Source.HOUSEHOLD, Source.BENEFIT}),
        ("funded_on_dibao", {Source.OFFICIAL, Source.HOUSEHOLD, Source.BENEFIT}),
        ("dibao_company", {Source.BENEFIT, Source.COMPANY, Source.SHAREHOLDER}),
        ("duplicate_benefit", {Source.BENEFIT}),
    ],
)
def test_a_model_reads_exactly_the_sources_it_names(model_id: str, sources: set[Source]) -> None:
    model = shipped_catalogue().models[model_id]
    assert model.required_sources() == set(model.sources) == sources


def _model(raw: dict[str, Any], model_id: str) -> dict[str, Any]:
    entry: dict[str, Any] = next(m for m in raw["models"] if m["id"] == model_id)
    return entry


def _set(path: list[Any], value: Any) -> Any:
    def change(raw: dict[str, Any]) -> None:
        node: Any = _model(raw, path[0])
        for part in path[1:-1]:
            node = node[part]
        if value is _DROP:
            del node[path[-1]]
        else:
            node[path[-1]] = value

    return change


_DROP = object()

# (change to the shipped file, words the error must hold)
BAD_ENTRIES: dict[str, tuple[Any, tuple[str, ...]]] = {
    "a misspelt company status": (
        _set(["dibao_company", "conditions", 0, "company_statuses"], ["存续", "存绩"]),
        ("model 4 (dibao_company)", "company_statuses", "存绩"),
    ),
    "an unknown benefit type": (
        _set(["deceased_pension", "conditions", 0, "benefit_types"], ["退休金"]),
        ("model 1 (deceased_pension)", "benefit_types", "退休金"),
    ),
    "an unknown condition kind": (
        _set(["duplicate_benefit", "conditions", 0, "kind"], "same_name"),
        ("model 7 (duplicate_benefit)", "conditions.0"),
    ),
    "a source the model does not read": (
        _set(["duplicate_benefit", "sources"], ["benefit", "property"]),
        ("model 7 (duplicate_benefit)", "sources must name exactly", "benefit"),
    ),
    "a source the model reads left out": (
        _set(["dibao_company", "sources"], ["benefit", "company"]),
        ("model 4 (dibao_company)", "shareholder"),
    ),
    "evidence from a source not read": (
        _set(["duplicate_benefit", "evidence"], ["benefit", "household"]),
        ("model 7 (duplicate_benefit)", "evidence"),
    ),
    "a death-month bound on officials": (
        _set(["official_unemployment", "conditions", 0, "period"], "after_death_month"),
        ("model 8 (official_unemployment)", "needs subjects of kind deceased"),
    ),
    "a subject-date bound through a relative": (
        _set(["deceased_pension", "via"], ["self", "spouse"]),
        ("model 1 (deceased_pension)", "via"),
    ),
    "an unknown level": (
        _set(["dibao_company", "level"], "orange"),
        ("model 4 (dibao_company)", "level"),
    ),
    "an unknown field": (
        _set(["dibao_company", "threshold"], 3),
        ("model 4 (dibao_company)", "threshold"),
    ),
    "no name": (_set(["dibao_company", "name"], _DROP), ("model 4 (dibao_company)", "name")),
    "an id that is not a word": (
        _set(["dibao_company", "id"], "Dibao Company"),
        ("model 4 (Dibao Company)", "id"),
    ),
    "a threshold of zero": (
        _set(["dibao_multi_property", "conditions", 0, "min_units"], 0),
        ("model 3 (dibao_multi_property)", "min_units"),
    ),
    "a relation pair outside the register's words": (
        lambda raw: raw["relations"].__setitem__("spouse", [["户主", "老伴"]]),
        ("relations.spouse", "老伴"),
    ),
    "a level without its rule": (
        lambda raw: raw["levels"].pop("blue"),
        ("levels", "blue"),
    ),
    "an id used twice": (
        lambda raw: raw["models"].append(copy.deepcopy(raw["models"][0])),
        ("model 9 (deceased_pension)", "taken"),
    ),
}


@pytest.mark.parametrize("case", list(BAD_ENTRIES))
def test_a_bad_entry_fails_at_load_naming_it(case: str) -> None:
    change, words = BAD_ENTRIES[case]
    raw = _raw()
    change(raw)
    with pytest.raises(ModelDefinitionError) as caught:
        parse_catalogue(raw)
    message = str(caught.value)
    assert all(word in message for word in words), message


def test_a_file_that_is_not_toml_fails_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('[[models]]\nid = "x\n', encoding="utf-8")
    with pytest.raises(ModelDefinitionError, match=r"^broken\.toml: "):
        load_catalogue(path)


def test_a_model_cannot_be_changed_once_loaded() -> None:
    model = shipped_catalogue().models["dibao_company"]
    with pytest.raises(ValueError, match="frozen"):
        model.level = Level.BLUE  # type: ignore[misc]
