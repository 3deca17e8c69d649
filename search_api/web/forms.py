"""A page form's input checked by the API's own request model: its refusal is the API's
(a ``RequestValidationError``, logged by the app's handler and shown with the field names)."""

from __future__ import annotations

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

FORM_LOCATION = "body"


def invalid_form(
    exc: ValidationError | None, *, field: str = "", message: str = ""
) -> RequestValidationError:
    """The refusal of a form: the model's errors, or one ``message`` about ``field``."""
    if exc is not None:
        errors = [
            {"loc": (FORM_LOCATION, *e["loc"]), "msg": e["msg"], "type": e["type"]}
            for e in exc.errors()
        ]
    else:
        errors = [{"loc": (FORM_LOCATION, field), "msg": message, "type": "value_error"}]
    return RequestValidationError(errors)


def blank_to_none(value: str | None) -> str | None:
    """An optional form field: an empty or blank input means not given."""
    if value is None or not value.strip():
        return None
    return value.strip()
