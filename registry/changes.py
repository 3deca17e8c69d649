"""What an ingest changed in one source: the watch step's input, made by the indexer
(``indexer.reports.changed_by_source``) and read by ``watching`` (both import ``registry``).

Either the ids of the records the run created or changed, or, when the source's index held none
of its records before the run (a first load), "every record of the source": each record the
index then holds is new, and listing them all would cost memory in proportion to the source
(about 80 bytes an id). Matching the whole source gives the same records as matching that list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SourceChanges:
    """The records of one source an ingest created or changed.

    ``ids``: those records, no repeats (empty when ``every_record``). ``every_record``: the
    source's index held none of its records before the run, so every record it holds is new;
    ``indexed`` then says how many the run indexed (the reports' ``indexed``, summed).
    """

    ids: tuple[str, ...] = ()
    every_record: bool = False
    indexed: int = 0

    def __post_init__(self) -> None:
        if self.every_record and self.ids:
            raise ValueError("every record of a source is changed, or the listed ids: not both")
        if not self.every_record and self.indexed:
            raise ValueError("a count of indexed records is given for every record only")

    @classmethod
    def listed(cls, ids: Sequence[str]) -> SourceChanges:
        """The records of ``ids`` (repeats dropped, first order kept)."""
        return cls(ids=tuple(dict.fromkeys(ids)))

    @classmethod
    def whole_source(cls, indexed: int) -> SourceChanges:
        """Every record of the source, ``indexed`` of them (a first load)."""
        return cls(every_record=True, indexed=indexed)

    @property
    def records(self) -> int:
        """How many records changed: the ids, or every record the run indexed."""
        return self.indexed if self.every_record else len(self.ids)
