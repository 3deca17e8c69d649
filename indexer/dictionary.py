"""The user dictionary harvested from the registries (names, companies, units), kept on disk.

The ingest adds the words it meets; the API loads the same file so that query-time segmentation
matches index-time segmentation.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable
from pathlib import Path

USER_DICT_NAME = "userdict.txt"
# Words shorter than this are left to jieba's own dictionary.
MIN_WORD_CHARS = 2
MAX_WORD_CHARS = 40


def load_user_words(analysis_dir: Path) -> list[str]:
    path = analysis_dir / USER_DICT_NAME
    if not path.exists():
        return []
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def usable_words(words: Iterable[str]) -> list[str]:
    """Words worth a dictionary entry: no spaces, 2-40 characters."""
    return [
        w
        for w in dict.fromkeys(words)
        if MIN_WORD_CHARS <= len(w) <= MAX_WORD_CHARS and not any(c.isspace() for c in w)
    ]


def save_user_words(analysis_dir: Path, words: Iterable[str]) -> int:
    """Merge ``words`` into the dictionary file (sorted, unique); returns the new size.

    Workers sharing a state dir merge under an exclusive lock, each through its own temporary
    file, so no word is lost and readers never see a half-written file.
    """
    analysis_dir.mkdir(parents=True, exist_ok=True)
    with (analysis_dir / (USER_DICT_NAME + ".lock")).open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        merged = sorted(set(load_user_words(analysis_dir)) | set(usable_words(words)))
        tmp = analysis_dir / f"{USER_DICT_NAME}.{os.getpid()}.tmp"
        tmp.write_text("".join(f"{w}\n" for w in merged), encoding="utf-8")
        tmp.replace(analysis_dir / USER_DICT_NAME)
    return len(merged)
