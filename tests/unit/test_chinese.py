"""Chinese analysis: exact token lists from real jieba, OpenCC and pypinyin; fictitious names."""

from __future__ import annotations

import logging
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from analyzers.chinese import TextAnalyzer, build_text_analyzer, normalise_pinyin

# 高明远 is split by jieba's own dictionary (高明 / 远); 于海燕 competes with 由于; the traditional
# company name checks that user words are simplified like the text; 王䶮 cannot be a jieba word
# (䶮 is in Extension A); 生命 is already a frequent dictionary word.
USER_WORDS = ["高明远", "于海燕", "热依汗古丽·吐尔逊", "東河縣德利物流有限公司", "王䶮", "生命"]

EXT_A = "\u4dae"  # 䶮
EXT_B_FIRST = "\U00020000"  # 𠀀
EXT_B_LAST = "\U0002a6a5"  # 𪚥
EXT_G = "\U00030000"  # 𰀀
URO_AFTER_JIEBA = "\u9fd6"  # 鿖, the first ideograph after jieba's range


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("jieba-cache")


@pytest.fixture(scope="module")
def analyzer(cache_dir: Path) -> TextAnalyzer:
    return build_text_analyzer(USER_WORDS, cache_dir)


@pytest.fixture(scope="module")
def bare(cache_dir: Path) -> TextAnalyzer:
    """An analyzer without user words, to show what they change."""
    return build_text_analyzer([], cache_dir)


def test_user_word_is_not_split(analyzer: TextAnalyzer) -> None:
    assert analyzer.query_tokens("高明远在会上发言") == ["高明远", "在", "会上", "发言"]


def test_same_name_is_split_without_user_words(bare: TextAnalyzer) -> None:
    assert bare.query_tokens("高明远在会上发言") == ["高明", "远", "在", "会上", "发言"]


def test_user_word_wins_against_a_competing_word(analyzer: TextAnalyzer) -> None:
    # At a frequency of 10 this is 由于 / 海燕 / 负责.
    assert analyzer.query_tokens("由于海燕负责") == ["由", "于海燕", "负责"]


def test_index_tokens_keep_user_word_and_its_dictionary_parts(analyzer: TextAnalyzer) -> None:
    assert analyzer.index_tokens("高明远") == ["高明", "明远", "高明远"]


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("热依汗古丽·吐尔逊", ["热依汗古丽", "吐尔逊"]),
        ("东河县德利物流有限公司", ["东河县德利物流有限公司"]),
        ("東河縣德利物流有限公司", ["东河县德利物流有限公司"]),
    ],
)
def test_user_words_are_split_at_dots_and_simplified(
    analyzer: TextAnalyzer, text: str, tokens: list[str]
) -> None:
    assert analyzer.query_tokens(text) == tokens


def test_user_word_count_leaves_out_words_jieba_cannot_match(analyzer: TextAnalyzer) -> None:
    # 高明远, 于海燕, 热依汗古丽, 吐尔逊, 东河县德利物流有限公司; not 王䶮, nor 生命 (frequent).
    assert analyzer.user_word_count == 5


def test_frequent_dictionary_word_keeps_its_frequency(analyzer: TextAnalyzer) -> None:
    # Lowered to the user-word frequency, 生命 would lose to 研究生 / 命.
    assert analyzer.query_tokens("研究生命起源") == ["研究", "生命", "起源"]


@pytest.mark.parametrize(
    ("text", "simplified"),
    [
        ("陳", "陈"),
        ("張偉", "张伟"),
        ("東河縣", "东河县"),
        ("沈默", "沉默"),  # a phrase-only conversion: 沈 alone is a valid simplified surname
        ("中华人民共和国", "中华人民共和国"),
    ],
)
def test_simplified(analyzer: TextAnalyzer, text: str, simplified: str) -> None:
    assert analyzer.simplified(text) == simplified


def test_simplified_agrees_with_opencc_on_every_character_and_phrase(
    analyzer: TextAnalyzer,
) -> None:
    import opencc

    converter = opencc.OpenCC("t2s")
    phrases_file = resources.files("opencc") / "dictionary" / "TSPhrases.txt"
    phrases = [line.split("\t")[0] for line in phrases_file.read_text("utf-8").splitlines()]
    texts = [chr(cp) for cp in range(0x4E00, 0xA000)] + phrases
    assert [t for t in texts if analyzer.simplified(t) != converter.convert(t)] == []


def test_traditional_text_gives_simplified_tokens(analyzer: TextAnalyzer) -> None:
    assert analyzer.query_tokens("陳小明反映糧食問題") == ["陈小明", "反映", "粮食", "问题"]


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        (f"王{EXT_A}", ["王", EXT_A]),
        (f"李{EXT_B_LAST}明", ["李", EXT_B_LAST, "明"]),
        (EXT_B_FIRST, [EXT_B_FIRST]),
        (EXT_G, [EXT_G]),
        (f"王{URO_AFTER_JIEBA}", ["王", URO_AFTER_JIEBA]),
        (f"{EXT_B_FIRST}{EXT_B_LAST}{URO_AFTER_JIEBA}", [EXT_B_FIRST, EXT_B_LAST, URO_AFTER_JIEBA]),
        (f"{EXT_A}abc", [EXT_A, "abc"]),
    ],
)
def test_rare_characters_are_single_tokens(
    analyzer: TextAnalyzer, text: str, tokens: list[str]
) -> None:
    assert analyzer.index_tokens(text) == tokens


def test_rare_character_name_in_user_words_still_yields_its_characters(
    analyzer: TextAnalyzer,
) -> None:
    assert analyzer.query_tokens(f"王{EXT_A}反映") == ["王", EXT_A, "反映"]


def test_ideographic_variation_selector_does_not_split_a_word(analyzer: TextAnalyzer) -> None:
    assert analyzer.query_tokens("粮\U000e0100食") == ["粮食"]


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("你好，世界！", ["你好", "世界"]),
        ("“粮食”……（购销）", ["粮食", "购销"]),
        ("——※★", []),
        (" \u3000\t\n", []),
    ],
)
def test_punctuation_and_whitespace_are_dropped(
    analyzer: TextAnalyzer, text: str, tokens: list[str]
) -> None:
    assert analyzer.query_tokens(text) == tokens


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("号码320102198807150017", ["号码", "320102198807150017"]),
        ("号码32010219880715001X", ["号码", "32010219880715001x"]),
        ("号码３２０１０２１９８８０７１５００１Ｘ", ["号码", "32010219880715001x"]),
        ("金额12.5万元", ["金额", "12.5", "万元"]),
        ("2019-2021年", ["2019", "2021", "年"]),
    ],
)
def test_digit_runs_are_kept_whole(analyzer: TextAnalyzer, text: str, tokens: list[str]) -> None:
    assert analyzer.index_tokens(text) == tokens


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("ABC公司", ["abc", "公司"]),
        ("ＡＢＣ公司", ["abc", "公司"]),
        ("持股50%", ["持股", "50%"]),
    ],
)
def test_ascii_words_are_lower_cased_half_width_tokens(
    analyzer: TextAnalyzer, text: str, tokens: list[str]
) -> None:
    assert analyzer.query_tokens(text) == tokens


def test_index_tokens_add_the_parts_of_a_compound(analyzer: TextAnalyzer) -> None:
    assert analyzer.index_tokens("中华人民共和国") == [
        "中华",
        "华人",
        "人民",
        "共和",
        "共和国",
        "中华人民共和国",
    ]


def test_query_tokens_keep_a_compound_whole(analyzer: TextAnalyzer) -> None:
    assert analyzer.query_tokens("中华人民共和国") == ["中华人民共和国"]


def test_joined_index_tokens_are_space_separated(analyzer: TextAnalyzer) -> None:
    assert analyzer.joined_index_tokens("陳小明，中华人民共和国") == (
        "陈小明 中华 华人 人民 共和 共和国 中华人民共和国"
    )


@pytest.mark.parametrize(
    ("name", "full", "initials"),
    [
        ("张伟", "zhangwei", "zw"),
        ("張偉", "zhangwei", "zw"),
        ("阿依古丽·买买提", "ayigulimaimaiti", "ayglmmt"),
        ("吕小明", "lvxiaoming", "lxm"),
        (f"王{EXT_A}", "wangyan", "wy"),
        ("长孙小明", "zhangsunxiaoming", "zsxm"),
        ("沈默然", "shenmoran", "smr"),  # read before t2s, which would give 沉默然
    ],
)
def test_pinyin_of_names(analyzer: TextAnalyzer, name: str, full: str, initials: str) -> None:
    assert (analyzer.pinyin_full(name), analyzer.pinyin_initials(name)) == (full, initials)


@pytest.mark.parametrize(
    ("name", "full", "initials"),
    [
        ("单小红", "shanxiaohong", "sxh"),
        ("單小紅", "shanxiaohong", "sxh"),
        ("单\u3000红", "shanhong", "sh"),  # registries pad two-character names
        ("曾志远", "zengzhiyuan", "zzy"),
        ("解小东", "xiexiaodong", "xxd"),
        ("王单", "wangdan", "wd"),  # only the first character is read as a surname
    ],
)
def test_pinyin_reads_polyphonic_surnames_as_surnames(
    analyzer: TextAnalyzer, name: str, full: str, initials: str
) -> None:
    assert (analyzer.pinyin_full(name), analyzer.pinyin_initials(name)) == (full, initials)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Zhang Wei", "zhangwei"),
        ("zhang-wei", "zhangwei"),
        ("Zhāng Wěi", "zhangwei"),
        ("ｚｈａｎｇ　ｗｅｉ", "zhangwei"),
        ("Lü Xiaoming", "lvxiaoming"),
        ("Ayiguli·Maimaiti", "ayigulimaimaiti"),
    ],
)
def test_normalise_pinyin_matches_the_stored_convention(typed: str, stored: str) -> None:
    assert normalise_pinyin(typed) == stored


def test_prefix_dictionary_cache_is_kept_in_cache_dir(
    analyzer: TextAnalyzer, cache_dir: Path
) -> None:
    assert [p.name.startswith("jieba-") for p in cache_dir.glob("*.cache")] == [True]


def test_build_logs_nothing_from_jieba(cache_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    logging.getLogger("jieba").setLevel(logging.DEBUG)  # jieba's own level after import
    build_text_analyzer([], cache_dir)
    assert [r.getMessage() for r in caplog.records if r.name == "jieba"] == []


def test_global_jieba_tokenizer_is_never_initialised(analyzer: TextAnalyzer) -> None:
    import jieba

    assert jieba.dt.initialized is False


def test_import_loads_no_dictionary() -> None:
    code = (
        "import sys, analyzers.chinese; "
        "print(sorted({'jieba', 'opencc', 'pypinyin'} & set(sys.modules)))"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_the_query_simplifier_converts_like_the_ingest() -> None:
    from analyzers.chinese import simplifier

    assert simplifier()("陳建國") == "陈建国"
    assert simplifier()("陈建国 粮食购销") == "陈建国 粮食购销"
    assert simplifier() is simplifier()  # built once
