"""A source's index: its alias, settings and mapping; the engine door does the rest.

A source's alias ``<prefix>-<source>`` points at one concrete index ``<alias>-<stamp>``. Ingest
writes into the current index (created on first use); a full reload builds a new index and
swaps the alias atomically, so searches never see a half-built index. The life of an index
behind an alias, the bulk writes and their retries are the door's (``registry.engine``).
"""

from __future__ import annotations

from dataclasses import dataclass

from analyzers.index_settings import index_settings
from common.vocab import Source
from registry.engine import EngineDoor
from registry.mapping import source_mapping
from registry.sources import SourceSpec


def source_alias(door: EngineDoor, source: Source) -> str:
    """The alias searches and the ingest name a source's index by."""
    return door.index_name(str(source))


@dataclass(frozen=True, slots=True)
class SourceIndex:
    """The index of one source, behind its alias."""

    door: EngineDoor
    spec: SourceSpec

    @property
    def alias(self) -> str:
        return source_alias(self.door, self.spec.source)

    def current(self) -> str:
        """The index the alias points at, created (and aliased) on first use; fields the source
        gained since it was made (a petition's vector field) are added to it."""
        return self.door.current_index(self.alias, index_settings(), source_mapping(self.spec))

    def fresh(self) -> str:
        """A new, empty index for a reload (not yet behind the alias)."""
        return self.door.create_index(self.alias, index_settings(), source_mapping(self.spec))

    def publish(self, index: str) -> None:
        """Put ``index`` behind the alias and drop the source's other indices."""
        self.door.swap_alias(self.alias, index)

    def aliased(self) -> str | None:
        """The index the alias points at now, or None when the source has no index yet."""
        return self.door.aliased_index(self.alias)
