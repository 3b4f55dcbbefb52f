"""Keyword search over the website's pages for the smart assistant: BM25 ranking of the
pages' titles, keywords, sections and summaries in both languages.

Chinese is segmented with jieba (search mode, so 综合考评 also yields 综合 and 考评), plus
character bigrams that still match where query and page were segmented differently; single
characters are too ambiguous to count. English is lower-cased and stemmed with the Snowball
stemmer, and a misspelt English word ("evaluaton") counts as the closest indexed word. Stop
words are dropped in both languages.
When nothing scores above a minimum the search returns no hit, so the assistant can say
honestly that it found nothing rather than recommend a page at random.
"""

from __future__ import annotations

import difflib
import logging
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import jieba
import snowballstemmer

from civic.city._site import Page
from civic.i18n import LANGUAGES

K1 = 1.5
B = 0.75
# Title and keywords say what a page is; section and summary only what it is near.
FIELD_WEIGHTS = {"title": 3.0, "keywords": 3.0, "section": 1.0, "summary": 1.0}
# A bigram match is weaker evidence than a word match: it may straddle two words.
BIGRAM_WEIGHT = 0.5
# Below this a hit is a coincidence (one common word), not an answer. Scores grow with the
# number of pages (rarer words weigh more): this suits a site of some 50 pages.
MIN_SCORE = 3.0
# How close an unknown English word must be to an indexed one to count as a typo of it.
TYPO_CUTOFF = 0.85

# Words that say nothing about which page is meant; the city's name is one (every page is
# about Hangzhou).
_EN_STOP = """a about after all also am an and any are as at be been but by can could did do does
    doing done for from get give go got had has have he her here hi how i if in into is it its
    just know let like me my need of on or our please she should show so some tell than that
    the their them then there these they this those to up us want wanna was we were what whats
    when where which who why will with would you your yours
    hangzhou"""
EN_STOP_WORDS = frozenset(_EN_STOP.split())
_ZH_STOP = """的 了 在 是 我 我们 我要 我想 想要 你 你们 您 他 他们 她 它 吗
    呢 吧 啊 呀 哦 嘛 么 之 等 怎么 怎样 怎么样 怎么办 如何 哪里 哪儿
    哪 哪个 哪些 什么 啥 干什么 干嘛 为什么 谁 多少 几 请问 请 想 要
    能 能不能 可以 一下 有 有没有 没有 没 和 与 及 或 去 看 找 个 这
    那 这个 那个 都 也 就 还 会 很 太 又 再 最 好 给 对 把 被 让
    得 着 过 一个 下 里 到 说 做 用 今年 现在 最近 已经 其实 到底
    知道 告诉 一般 杭州 杭州市"""
ZH_STOP_WORDS = frozenset(_ZH_STOP.split())

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_LATIN = re.compile(r"[a-z0-9]+")
_IS_CJK = re.compile(rf"[{_CJK}]")
_ALL_CJK = re.compile(rf"^[{_CJK}]+$")


@dataclass(frozen=True)
class Hit:
    page: Page
    score: float


@cache
def _jieba() -> jieba.Tokenizer:
    """jieba's default tokenizer, loaded once and without its start-up chatter."""
    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba.dt


def word_starts(text: str) -> set[int]:
    """Where jieba's words begin in `text`: a name found inside a longer word at another
    place ("质监" in "水质监测") is not that name."""
    return {start for _, start, _ in _jieba().tokenize(text)}


_STEMMER = snowballstemmer.stemmer("english")


@cache
def _stem(word: str) -> str:
    return str(_STEMMER.stemWord(word))


def _chinese(text: str, bigrams: bool = True) -> list[str]:
    """jieba's words (search mode: long words and their parts) and the character bigrams of
    each stretch of non-stop words. Bigrams carry the match where the two texts were
    segmented differently (考评办 as 考评 + 办是) and are marked with a leading '~'."""
    tokenizer = _jieba()
    tokens = [
        w
        for w in tokenizer.lcut_for_search(text)
        if len(w) > 1 and _ALL_CJK.match(w) and w not in ZH_STOP_WORDS
    ]
    if not bigrams:
        return tokens
    runs, run = [], ""
    for word in tokenizer.lcut(text):
        if _ALL_CJK.match(word) and word not in ZH_STOP_WORDS:
            run += word
        else:
            runs.append(run)
            run = ""
    runs.append(run)
    pairs = [r[i : i + 2] for r in runs for i in range(len(r) - 1)]
    return tokens + ["~" + b for b in pairs]


def words(text: str, *, bigrams: bool = True) -> list[tuple[str, str]]:
    """(surface word, index token) pairs of `text`, stop words dropped. Chinese tokens are
    their own surface; an English token is the stem of the lower-cased word. Without
    `bigrams`, Chinese is jieba's words alone (half the work: one segmentation)."""
    text = unicodedata.normalize("NFKC", text).lower().replace("'", "").replace("’", "")
    pairs = [(token, token) for token in _chinese(text, bigrams)] if _IS_CJK.search(text) else []
    for word in _LATIN.findall(text):
        if word not in EN_STOP_WORDS:
            pairs.append((word, _stem(word)))
    return pairs


def _language(token: str) -> str:
    return "zh" if token.startswith("~") or _IS_CJK.search(token) else "en"


def _length_by_language(tf: dict[str, float]) -> dict[str, float]:
    lengths = dict.fromkeys(LANGUAGES, 0.0)
    for token, count in tf.items():
        lengths[_language(token)] += count
    return lengths


def _weight(token: str) -> float:
    return BIGRAM_WEIGHT if token.startswith("~") else 1.0


def _fields(page: Page) -> dict[str, str]:
    return {
        "title": " ".join(page.title.values()),
        "keywords": " ".join(k for lang in page.keywords.values() for k in lang),
        "section": " ".join(page.section.values()),
        "summary": " ".join(page.summary.values()),
    }


class SiteSearch:
    """A BM25 index of pages, built once; `search` ranks them for a query."""

    def __init__(self, pages: Iterable[Page], *, min_score: float = MIN_SCORE) -> None:
        self._pages = list(pages)
        self._min_score = min_score
        self._tf: list[dict[str, float]] = []  # per page: token -> weighted frequency
        self._surface: dict[str, str] = {}  # English word as written -> its stem
        for page in self._pages:
            tf: dict[str, float] = {}
            for field, text in _fields(page).items():
                for surface, token in words(text):
                    tf[token] = tf.get(token, 0.0) + FIELD_WEIGHTS[field]
                    if not _IS_CJK.search(token):
                        self._surface[surface] = token
            self._tf.append(tf)
        # A page's length per language: a long Chinese summary must not dilute English matches.
        self._lengths = [_length_by_language(tf) for tf in self._tf]
        self._avg_length = {
            lang: sum(lengths[lang] for lengths in self._lengths) / max(len(self._pages), 1)
            for lang in LANGUAGES
        }
        df = Counter(token for tf in self._tf for token in tf)
        n = len(self._pages)
        self._idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}

    def _query_tokens(self, query: str) -> list[str]:
        tokens: list[str] = []
        for surface, token in words(query):
            if token not in self._idf and len(surface) >= 4 and not _IS_CJK.search(surface):
                close = difflib.get_close_matches(surface, self._surface, n=1, cutoff=TYPO_CUTOFF)
                token = self._surface[close[0]] if close else token
            if token in self._idf and token not in tokens:
                tokens.append(token)
        return tokens

    def _score(self, doc: int, tokens: list[str]) -> float:
        score = 0.0
        for token in tokens:
            tf = self._tf[doc].get(token, 0.0)
            if tf:
                lang = _language(token)
                relative = self._lengths[doc][lang] / (self._avg_length[lang] or 1.0)
                norm = K1 * (1 - B + B * relative)
                score += _weight(token) * self._idf[token] * tf * (K1 + 1) / (tf + norm)
        return score

    def search(self, query: str, limit: int = 3) -> list[Hit]:
        """The best `limit` pages for `query`, best first; [] when none fits well enough."""
        tokens = self._query_tokens(query)
        if not tokens:
            return []
        scored = [(self._score(i, tokens), i) for i in range(len(self._pages))]
        scored.sort(key=lambda pair: (-pair[0], pair[1]))
        return [
            Hit(self._pages[i], round(s, 4))
            for s, i in scored[:limit]
            if s > 0 and s >= self._min_score
        ]
