"""civic.city._search: BM25 search over the website's pages, on the Hangzhou profile and on a few
hand-made pages whose ranking is obvious."""

from __future__ import annotations

import pytest

from civic.city import MIN_SCORE, Page, SiteSearch, load_site, words
from civic.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def search() -> SiteSearch:
    return SiteSearch(load_site(PROJECT_ROOT / "profiles" / "hangzhou").pages.values())


def _keys(search: SiteSearch, query: str, limit: int = 3) -> list[str]:
    return [hit.page.key for hit in search.search(query, limit=limit)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("我想看综合考评结果", "annual-results"),
        ("隐私政策", "privacy-policy"),
        ("怎么删除个人信息", "privacy-policy"),
        ("绩效整改通知", "improvement-notices"),
        ("下载开放数据", "open-data"),
        ("社会评价报告", "social-evaluation-report"),
        ("办公时间", "contact"),
        ("privacy policy", "privacy-policy"),
        ("download the open data", "open-data"),
        ("social evaluation report", "social-evaluation-report"),
        ("performance improvement notice", "improvement-notices"),
        ("track my complaint", "complaint-progress"),
        ("office hours", "contact"),
    ],
)
def test_clear_queries_rank_the_expected_page_first(
    search: SiteSearch, query: str, expected: str
) -> None:
    assert _keys(search, query)[0] == expected


def test_a_misspelt_english_word_still_finds_the_page(search: SiteSearch) -> None:
    assert _keys(search, "privacy polcy")[0] == "privacy-policy"
    assert _keys(search, "evaluaton results")[0] == "annual-results"


def test_full_width_letters_are_read_as_ordinary_ones(search: SiteSearch) -> None:
    assert _keys(search, "ＰＲＩＶＡＣＹ") == ["privacy-policy"]


@pytest.mark.parametrize(
    "query",
    [
        "how to cook noodles",
        "今天天气怎么样",
        "红烧肉怎么做",
        "what is the capital of france",
        "",
        "   ",
        "!!!",
        "的了吗",
        "the and of",
    ],
)
def test_nothing_fits_gives_no_hit(search: SiteSearch, query: str) -> None:
    assert search.search(query) == []


def test_hits_are_best_first_limited_and_above_the_minimum(search: SiteSearch) -> None:
    hits = search.search("满意度调查", limit=5)
    scores = [hit.score for hit in hits]
    assert len(hits) == 5
    assert scores == sorted(scores, reverse=True)
    assert min(scores) >= MIN_SCORE
    assert len(search.search("满意度调查", limit=2)) == 2


def test_words_drop_stop_words_and_stem_english() -> None:
    assert words("How do I see the complaints?") == [
        ("see", "see"),
        ("complaints", "complaint"),
    ]
    assert words("Where is the survey?") == [("survey", "survey")]


def test_words_segment_chinese_into_words_and_bigrams() -> None:
    tokens = [token for _, token in words("我想查询投诉进度")]
    assert {"查询", "投诉", "进度", "~投诉", "~诉进"} <= set(tokens)
    assert "我想" not in tokens


# --- hand-made pages (too few for the minimum score, which suits a whole site) ----------------


def _page(key: str, title: str, summary: str = "x", keywords: tuple[str, ...] = ()) -> Page:
    return Page(
        key=key,
        url=f"https://example.org/{key}",
        section={"zh": "栏目", "en": "Section"},
        title={"zh": "页面", "en": title},
        summary={"zh": "说明", "en": summary},
        keywords={"zh": (), "en": keywords},
    )


def test_a_word_in_the_title_outranks_the_same_word_in_a_summary() -> None:
    search = SiteSearch(
        [
            _page("mentions", "Contact", summary="Write to us about recycling"),
            _page("about", "Recycling"),
            _page("other", "Parking"),
        ],
        min_score=0.0,
    )
    assert _keys(search, "recycling") == ["about", "mentions"]


def test_a_rare_word_outweighs_a_common_one() -> None:
    pages = [_page(f"p{i}", f"Garden {i}") for i in range(6)]
    pages.append(_page("bench", "Bench", keywords=("park bench",)))
    pages.append(_page("garden-bench", "Garden"))
    assert _keys(SiteSearch(pages, min_score=0.0), "garden bench")[0] == "bench"


def test_keywords_find_a_page_whose_title_does_not_say_it() -> None:
    search = SiteSearch(
        [
            _page("stop", "Stop survey messages", keywords=("unsubscribe", "opt out")),
            _page("join", "Join the panel", keywords=("subscribe",)),
        ],
        min_score=0.0,
    )
    assert _keys(search, "unsubscribe") == ["stop"]
