"""Why the store was not brought to, or is not at, the code's schema (nothing was changed)."""

from __future__ import annotations


class StoreSchemaError(RuntimeError):
    """The store's schema is not one the code can run on, and it was left as it was."""


class UpgradeRefusedError(StoreSchemaError):
    """A migration found rows or tables it must not change on its own: a person decides."""


class StoreNotCurrentError(StoreSchemaError):
    """The store's revision is not the code's: a PostgreSQL store is upgraded by an operator."""

    def __init__(self, current: str | None, head: str) -> None:
        self.current, self.head = current, head
        where = "has no schema revision" if current is None else f"is at revision {current}"
        super().__init__(
            f"the SQL store {where}, the code needs {head}: run `xiansuo db upgrade` "
            "(after a backup) before starting the service"
        )
