"""Handles of persons and pseudonyms of record ids (search_api.handles)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from identifier_strategies import id18_numbers

from analyzers.identifiers import holds_identifier
from analyzers.ids import id_check_char
from common.errors import InvalidInputError
from query_logs.applications import Subject, SubjectKind, parse_subject
from search_api.handles import Handles, handles_for, looks_like_handle

HANDLES = Handles.from_secret("a secret of the test server")
PID = "46010619700101001" + id_check_char("46010619700101001")


@settings(max_examples=200, deadline=None)
@given(id18_numbers())
def test_a_handle_opens_to_its_number_and_shows_none_of_its_digits(number: str) -> None:
    handle = HANDLES.handle(number)
    assert HANDLES.open(handle) == number
    assert HANDLES.open(handle.upper()) == number  # base32 reads back in either case
    assert looks_like_handle(handle)
    assert not holds_identifier(handle)
    assert not any(number[i : i + 4] in handle for i in range(len(number) - 3))


def test_a_handle_is_the_same_for_the_same_person_and_secret_only() -> None:
    assert HANDLES.handle(PID) == handles_for("a secret of the test server").handle(PID)
    other = Handles.from_secret("another server's secret")
    assert other.handle(PID) != HANDLES.handle(PID)
    with pytest.raises(InvalidInputError):
        other.open(HANDLES.handle(PID))


def _flipped(handle: str, at: int) -> str:
    return handle[:at] + ("b" if handle[at] != "b" else "c") + handle[at + 1 :]


@pytest.mark.parametrize(
    "forged",
    [
        _flipped(HANDLES.handle(PID), 5),
        _flipped(HANDLES.handle(PID), -1),
        HANDLES.handle(PID)[:-1],
        "h" + "a" * 39,
        PID,
        "",
        "h!" + "a" * 38,
    ],
)
def test_a_forged_or_damaged_handle_is_refused(forged: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        HANDLES.open(forged)
    assert PID not in refused.value.detail


@pytest.mark.parametrize("value", ["46010619700101001Z", PID[:17], "9146010636381868QY", None, 7])
def test_only_a_valid_number_has_a_handle(value: object) -> None:
    assert HANDLES.of(value) is None
    if isinstance(value, str):
        with pytest.raises(ValueError, match="handle"):
            HANDLES.handle(value)


def test_a_record_id_pseudonym_is_stable_keyed_and_holds_no_number() -> None:
    engine_id = "0123456789abcdef01234567"
    shown = HANDLES.record_id(engine_id)
    assert shown == HANDLES.record_id(engine_id) != engine_id
    assert shown != Handles.from_secret("other").record_id(engine_id)
    assert len(shown) == 24
    assert not holds_identifier(shown)


def test_an_application_subject_named_by_handle_is_the_persons_number() -> None:
    subject = parse_subject("handle", HANDLES.handle(PID), HANDLES.open)
    assert subject == Subject(SubjectKind.PERSON, PID)


def test_a_handle_cannot_be_resolved_without_the_servers_resolver() -> None:
    with pytest.raises(InvalidInputError, match="handle"):
        parse_subject("handle", HANDLES.handle(PID))


def test_an_unknown_subject_kind_is_refused_without_echoing_it() -> None:
    with pytest.raises(InvalidInputError) as refused:
        parse_subject(PID, PID)
    assert PID not in refused.value.detail
