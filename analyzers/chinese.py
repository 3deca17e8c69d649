"""Chinese text analysis done in Python, the same way before indexing and at query time.

One explicitly built jieba ``Tokenizer`` (never jieba's global one) holding the registry user
words, OpenCC traditional->simplified, and pypinyin for name fields. Importing this module does
nothing: jieba, OpenCC and pypinyin are imported and their dictionaries loaded by
``build_text_analyzer``, once per process, before any threads or forks (adding words is not
locked; segmenting is read-only and may be shared by threads, though the GIL makes processes the
way to scale).

Tokens: the text is NFKC-normalised (full-width -> half-width, compatibility ideographs unified),
stripped of invisible characters (zero-width, variation selectors), simplified and lower-cased.
Tokens without a letter or digit (whitespace, punctuation, symbols) are dropped. ASCII words and
digit runs are whole lower-case tokens: an ID number stays one token (check character "x"),
"12.5" and "50%" stay whole, a hyphen splits "2019-2021". jieba's word class stops at U+9FD5, so
CJK Extension A, B and later and the ideographs after U+9FD5 are never part of a word: each is a
token of its own (王䶮 -> 王, 䶮), and user words holding one cannot be matched whole.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Iterable
from functools import cache, partial
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Protocol

# Measured with 100k generated user words, 5,000 names in competing contexts (由于海燕负责): names
# split 0.52% of the time at 10, 0.36% at 200, no fewer at 1,000 or 5,000; higher values only let
# two-character user names take characters from neighbouring unknown names.
USER_WORD_FREQ = 200
# Distinct names whose pinyin is kept per process (~100 bytes each).
_PINYIN_CACHE_NAMES = 500_000

# Characters jieba segments as words (its re_han_default). Everything else, including CJK
# Extension A/B and ideographs after U+9FD5, is emitted by jieba one character at a time.
_JIEBA_WORD_RE = re.compile(r"[\u4e00-\u9fd5a-z0-9+#&._%\-]+")
# Separators inside a user word: spaces, middle dots, brackets, other punctuation.
_USER_WORD_SEPARATOR_RE = re.compile(r"[^\w+#&.%\-]+")
# Invisible characters that would otherwise split a word: soft hyphen, zero-width and direction
# marks, word joiners, BOM, variation selectors and ideographic variation selectors (IVS).
_INVISIBLE_RE = re.compile(
    "[\u00ad\u200b-\u200f\u2060-\u2064\ufeff\ufe00-\ufe0f\U000e0100-\U000e01ef]"
)
# A token is kept when it has at least one letter or digit (any script); this drops whitespace,
# punctuation and symbol-only tokens and keeps every ideograph, however rare.
_WORD_CHAR_RE = re.compile(r"[^\W_]")
_PINYIN_KEEP_RE = re.compile(r"[^a-z0-9]+")
_SPACE_RE = re.compile(r"\s+")

# Surnames whose reading differs from pypinyin's default reading of the character (单: dan -> shan).
# Only readings that are unambiguous as a surname; compound surnames (长孙, 尉迟, 万俟) are already
# read correctly by pypinyin's phrase dictionary.
_SURNAME_READINGS: dict[str, str] = {
    "单": "shan",
    "解": "xie",
    "仇": "qiu",
    "区": "ou",
    "查": "zha",
    "曾": "zeng",
    "朴": "piao",
    "翟": "zhai",
    "盖": "ge",
    "缪": "miao",
    "覃": "qin",
    "召": "shao",
    "种": "chong",
    "秘": "bi",
    "繁": "po",
    "折": "she",
    "祭": "zhai",
    "员": "yun",
    "句": "gou",
    "都": "du",
    "薄": "bo",
    "卜": "bu",
    "阚": "kan",
}


class Segmenter(Protocol):
    """The part of jieba's ``Tokenizer`` API used here, HMM on (jieba's default).

    jieba_fast has the same API and gives the same tokens; rjieba's differs and it joins runs of
    rare characters into one token.
    """

    def cut(self, sentence: str) -> Iterable[str]: ...

    def cut_for_search(self, sentence: str) -> Iterable[str]: ...

    def add_word(self, word: str, freq: int | None = None, tag: str | None = None) -> None: ...

    @property
    def FREQ(self) -> dict[str, int]: ...  # noqa: N802 - jieba's attribute name


class _Converter(Protocol):
    """An OpenCC converter."""

    def convert(self, string: str) -> str: ...


class _Simplifier:
    """OpenCC t2s that skips text in which no character can change (most registry text)."""

    def __init__(self, converter: _Converter, traditional_chars: frozenset[str]) -> None:
        self._converter = converter
        self._traditional_chars = traditional_chars

    def __call__(self, text: str) -> str:
        if self._traditional_chars.isdisjoint(text):
            return text
        return self._converter.convert(text)


class TextAnalyzer:
    """Normalises and segments text; index and queries must use analyzers built the same way."""

    def __init__(
        self,
        segmenter: Segmenter,
        simplify: Callable[[str], str],
        read_syllables: Callable[[str], list[str]],
        read_initials: Callable[[str], list[str]],
        user_word_freq: int = USER_WORD_FREQ,
    ) -> None:
        self._segmenter = segmenter
        self._simplify = simplify
        self._read_syllables = read_syllables
        self._read_initials = read_initials
        self._user_word_freq = user_word_freq
        # Names repeat across registries (a pensioner appears in every monthly payment): reading
        # pinyin is the costliest per-name step, so each name is read once per process.
        self._pinyin_cache: dict[str, tuple[str, str]] = {}
        self.user_word_count = 0

    def add_words(self, words: Iterable[str]) -> int:
        """Add user-dictionary words (names of persons, companies, units); returns how many.

        Call before any fork or thread uses the analyzer: jieba does not lock its dictionary.
        """
        added = 0
        for word in _user_word_parts(words, self.normalise):
            # A dictionary word that is already frequent enough keeps its own frequency.
            if self._segmenter.FREQ.get(word, 0) < self._user_word_freq:
                self._segmenter.add_word(word, self._user_word_freq)
                added += 1
        self.user_word_count += added
        return added

    def simplified(self, text: str) -> str:
        """Traditional -> simplified characters (陳 -> 陈, 張 -> 张), OpenCC t2s."""
        return self._simplify(text)

    def normalise(self, text: str) -> str:
        """NFKC (full-width -> half-width), invisible characters removed, simplified, lower-case."""
        return _normalise(text, self._simplify)

    def index_tokens(self, text: str) -> list[str]:
        """Tokens for the indexed field: jieba search mode (words plus their dictionary parts)."""
        return [t for t in self._segmenter.cut_for_search(self.normalise(text)) if _is_word(t)]

    def query_tokens(self, text: str) -> list[str]:
        """Tokens for a query: jieba accurate mode, so a compound is one token, not its parts."""
        return [t for t in self._segmenter.cut(self.normalise(text)) if _is_word(t)]

    def joined_index_tokens(self, text: str) -> str:
        """Index tokens joined by spaces, for a field analysed by the whitespace tokenizer."""
        return " ".join(self.index_tokens(text))

    def joined_query_tokens(self, text: str) -> str:
        """Query tokens joined by spaces, to match against the whitespace-analysed field."""
        return " ".join(self.query_tokens(text))

    def pinyin_full(self, name: str) -> str:
        """Toneless pinyin of a person name as one word, no separators: 张伟 -> zhangwei."""
        return self._pinyin(name)[0]

    def pinyin_initials(self, name: str) -> str:
        """First letter of each syllable of a person name: 张伟 -> zw."""
        return self._pinyin(name)[1]

    def _pinyin(self, name: str) -> tuple[str, str]:
        cached = self._pinyin_cache.get(name)
        if cached is None:
            surname, rest = self._split_surname(name)
            cached = (
                "".join([*surname, *self._read_syllables(rest)]),
                "".join([*(s[0] for s in surname), *self._read_initials(rest)]),
            )
            if len(self._pinyin_cache) < _PINYIN_CACHE_NAMES:
                self._pinyin_cache[name] = cached
        return cached

    def _split_surname(self, name: str) -> tuple[list[str], str]:
        """The surname's reading where it differs from pypinyin's default, and the rest to read.

        The name is read in its own script (pypinyin reads traditional characters), not after
        t2s: OpenCC turns some valid simplified names into other words (沈默 -> 沉默, 乾 -> 干).
        Spaces are removed: registries pad two-character names (张　伟).
        """
        text = _SPACE_RE.sub("", _INVISIBLE_RE.sub("", unicodedata.normalize("NFKC", name)))
        text = text.lower()
        if len(text) >= 2 and text.isalpha():
            reading = _SURNAME_READINGS.get(self._simplify(text[0]))
            if reading is not None:
                return [reading], text[1:]
        return [], text


def normalise_pinyin(text: str) -> str:
    """Pinyin typed by a user, in the stored convention: "Zhāng Wěi", "zhang-wei" -> zhangwei.

    ü is written v (lü -> lv), as pypinyin and pinyin keyboards do; tone marks are dropped.
    """
    text = unicodedata.normalize("NFKC", text).lower().replace("ü", "v")
    return _PINYIN_KEEP_RE.sub("", unicodedata.normalize("NFKD", text))


def build_text_analyzer(
    user_words: Iterable[str], cache_dir: Path, *, user_word_freq: int = USER_WORD_FREQ
) -> TextAnalyzer:
    """Build the analyzer: a new jieba tokenizer with its prefix-dictionary cache in cache_dir.

    User words (names of persons, companies, units, places) are normalised like the text, split at
    separators (阿依古丽·买买提) and added with ``user_word_freq`` so that they are not split.
    Takes about 1.6 s with 100k user words (0.8 s of it jieba's dictionary, cached or not).
    """
    import jieba  # imported here: jieba adds a stderr log handler when imported
    import opencc
    from pypinyin import Style, lazy_pinyin

    logging.getLogger("jieba").setLevel(logging.WARNING)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = jieba.Tokenizer()
    tokenizer.tmp_dir = str(cache_dir)
    # Versioned: jieba trusts a cache of its default dictionary without comparing dates.
    tokenizer.cache_file = f"jieba-{jieba.__version__}.cache"
    tokenizer.initialize()

    analyzer = TextAnalyzer(
        segmenter=tokenizer,
        simplify=_Simplifier(opencc.OpenCC("t2s"), _read_traditional_chars()),
        read_syllables=partial(lazy_pinyin, style=Style.NORMAL, errors=_keep_ascii),
        read_initials=partial(lazy_pinyin, style=Style.FIRST_LETTER, errors=_keep_ascii),
        user_word_freq=user_word_freq,
    )
    analyzer.add_words(user_words)
    return analyzer


@cache
def simplifier() -> Callable[[str], str]:
    """OpenCC t2s for query text, built on first use (not at import): the converter and shortcut
    the ingest's analyzer applies to names and text (`TextAnalyzer.simplified`)."""
    import opencc

    return _Simplifier(opencc.OpenCC("t2s"), _read_traditional_chars())


def _user_word_parts(words: Iterable[str], normalise: Callable[[str], str]) -> set[str]:
    """The normalised pieces of the user words that jieba can match as one word.

    A word is split at separators (阿依古丽·买买提 -> 阿依古丽, 买买提). A piece holding a character
    jieba does not segment (王䶮) can never match whole and is left out; so are single characters.
    """
    parts: set[str] = set()
    for word in words:
        for part in _USER_WORD_SEPARATOR_RE.split(normalise(word)):
            if len(part) >= 2 and _JIEBA_WORD_RE.fullmatch(part):
                parts.add(part)
    return parts


def _read_traditional_chars() -> frozenset[str]:
    """Characters whose presence means OpenCC t2s may change the text.

    Every key of TSCharacters, plus the first character of each TSPhrases key that holds no such
    character and does not map to itself (沈默 -> 沉默). Text with none of them is left unchanged
    by OpenCC, so it can skip the conversion.
    """
    folder = resources.files("opencc") / "dictionary"
    chars = {line.split("\t", 1)[0] for line in _read_lines(folder / "TSCharacters.txt")}
    for line in _read_lines(folder / "TSPhrases.txt"):
        key, value = line.split("\t", 1)
        if chars.isdisjoint(key) and value.split(" ", 1)[0] != key:
            chars.add(key[0])
    return frozenset(chars)


def _read_lines(path: Traversable) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _normalise(text: str, simplify: Callable[[str], str]) -> str:
    text = _INVISIBLE_RE.sub("", unicodedata.normalize("NFKC", text))
    return simplify(text).lower()


def _keep_ascii(chunk: str) -> str:
    """pypinyin's handler for what it cannot read: keep letters and digits, drop dots and spaces."""
    return _PINYIN_KEEP_RE.sub("", chunk.lower())


def _is_word(token: str) -> bool:
    # isalnum() answers for almost every token at a tenth of the regex's cost.
    return token.isalnum() or _WORD_CHAR_RE.search(token) is not None
