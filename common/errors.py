"""Domain errors of query_logs; each carries the HTTP status the app maps it to, once.

``detail`` (also ``str(exc)``) is safe to show the client. Facts meant only for the log (why a
login failed, which account) are separate attributes and never part of the message.
"""

from __future__ import annotations

from typing import ClassVar


class DomainError(Exception):
    """Base of every error the API turns into a response with ``status`` and ``detail``."""

    status: ClassVar[int] = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInputError(DomainError):
    """A value that can never be accepted (a malformed region code, a weak password)."""

    status: ClassVar[int] = 422


class UnknownRoleError(InvalidInputError):
    """A role name outside the closed set."""


class RoleConflictError(InvalidInputError):
    """A role set that breaks the three-officer separation (三员分立)."""


class ConflictError(DomainError):
    """The request clashes with what is stored (a username that is taken)."""

    status: ClassVar[int] = 409


class DuplicateUserError(ConflictError):
    """The username, or the 公民身份号码, already belongs to an account."""


class NotFoundError(DomainError):
    """The named object does not exist."""

    status: ClassVar[int] = 404


class UserNotFoundError(NotFoundError):
    """No account with that username or id (for administrators; logins never say so)."""


class NotAuthenticatedError(DomainError):
    """The caller has not proved who they are, or the proof is no longer good."""

    status: ClassVar[int] = 401


class PermissionDeniedError(DomainError):
    """The caller is known but their roles do not allow the action."""

    status: ClassVar[int] = 403


class EngineUnavailableError(DomainError):
    """The search engine did not answer, or did not take a request it should have: 503.

    Raised by the engine door (``registry.engine``) only, the one place engine errors are
    translated. ``cause`` names the client's error (``ConnectionError``, ``NotFoundError``), or
    the engine's own error type when one search of a multi-search failed
    (``index_not_found_exception``); it is empty when the door itself gave up, as on a bulk
    refused as overloaded too often, or when a layer above raised its own subclass.
    ``engine_status`` is the HTTP status the engine answered with (None when it did not answer)
    and ``reason`` the client's own message: facts for the log and the ingest report, never part
    of ``detail`` (an engine message may quote the request).
    """

    status: ClassVar[int] = 503

    def __init__(
        self,
        detail: str = "the search engine did not answer",
        *,
        cause: str = "",
        engine_status: int | None = None,
        reason: str = "",
    ) -> None:
        super().__init__(detail)
        self.cause = cause
        self.engine_status = engine_status
        self.reason = reason

    @property
    def failure(self) -> str:
        """What failed, as a log entry names it: the client's error class (``ConnectionError``),
        or this error's own class when no client error lies beneath it."""
        return self.cause or type(self).__name__


class IndexMissingError(EngineUnavailableError):
    """The index or alias a request named does not exist (the engine answered 404)."""
