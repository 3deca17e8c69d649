"""Who may run a comparison model: a 专项核查 application that names it (filing and the gate's
decision, pure), and which models an application may name."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from accounts.roles import Role
from accounts.users import User
from common.errors import InvalidInputError
from common.vocab import Source
from comparison.definitions import shipped_catalogue
from query_logs.applications import Application, Category, State, checked_models
from query_logs.gate import GateDeniedError, QueryRequest, decide_scope

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
KNOWN = shipped_catalogue().ids
WHO = User(1, "task", None, frozenset({Role.SPECIAL_TASK}), "46", None, False, 0, None, 0, NOW,
           NOW)  # fmt: skip
APPLICATION = Application(
    id=7, case_id=3, case_no="案-1", applicant_id=1, purpose="民生领域专项核查问题线索比对工作",
    category=Category.SPECIAL_CHECK, sources=frozenset({Source.HOUSEHOLD, Source.BENEFIT}),
    regions=("46",), subjects=(), unmask=False, export=False, valid_from=NOW,
    valid_until=NOW + timedelta(days=1), state=State.APPROVED, decided_by=2, decided_at=NOW,
    page_size_cap=50, result_cap=1000, query_quota=10, queries_used=0,
    models=("deceased_pension",),
)  # fmt: skip
RUN = QueryRequest(sources=frozenset({Source.HOUSEHOLD, Source.BENEFIT}),
                   models=("deceased_pension",))  # fmt: skip


def test_a_special_check_application_naming_the_model_admits_its_run() -> None:
    scope = decide_scope(WHO, APPLICATION, RUN, (), NOW)
    assert (scope.sources, scope.regions) == ((Source.BENEFIT, Source.HOUSEHOLD), ("46",))


@pytest.mark.parametrize(
    ("application", "request_", "reason"),
    [
        (replace(APPLICATION, category=Category.SPECIAL_CAMPAIGN), RUN, "专项核查"),
        (APPLICATION, replace(RUN, models=("duplicate_benefit",)), "does not name"),
        (replace(APPLICATION, models=()), RUN, "does not name"),
        (replace(APPLICATION, sources=frozenset({Source.BENEFIT})), RUN, "outside"),
        (replace(APPLICATION, category=Category.PRELIMINARY), replace(RUN, models=()), "专项核查"),
    ],
    ids=["wrong category", "another model", "no model", "a source missing", "ledger, wrong kind"],
)
def test_a_run_outside_the_application_is_refused(
    application: Application, request_: QueryRequest, reason: str
) -> None:
    with pytest.raises(GateDeniedError, match=reason):
        decide_scope(WHO, application, request_, (), NOW)


def test_a_request_that_runs_no_model_ignores_the_category() -> None:
    plain = QueryRequest(sources=frozenset({Source.HOUSEHOLD}))
    assert decide_scope(WHO, replace(APPLICATION, models=()), plain, (), NOW).sources


def test_named_models_are_kept_sorted_and_once() -> None:
    chosen = ["duplicate_benefit", "deceased_pension", "duplicate_benefit"]
    assert checked_models(Category.SPECIAL_CHECK, chosen, KNOWN) == [
        "deceased_pension",
        "duplicate_benefit",
    ]


@pytest.mark.parametrize(
    ("category", "models", "reason"),
    [
        (Category.PRELIMINARY, ["deceased_pension"], "only a 专项核查"),
        (Category.SPECIAL_CHECK, ["no_such_model"], "does not exist"),
        (Category.SPECIAL_CHECK, [f"m{i}" for i in range(60)], "at most"),
    ],
)
def test_models_outside_the_rules_are_refused(
    category: Category, models: list[str], reason: str
) -> None:
    with pytest.raises(InvalidInputError, match=reason) as caught:
        checked_models(category, models, KNOWN)
    assert "no_such_model" not in str(caught.value)  # what was typed is not echoed
