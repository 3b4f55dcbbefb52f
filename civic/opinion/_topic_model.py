"""The topic model: grouping texts in memory, with no database. `civic.opinion`'s topics
(`_topics.py`) read the comments, call `group_texts` and store what it found.

Each text gets three blocks of features:

    words    TF-IDF over jieba's words (Chinese) and Snowball stems (English), stop words
             dropped: the tokenisation of the site search (civic.city.words), so the
             assistant and the analysis read a text the same way
    bridges  the codebook codes its keyword rules suggest, their themes and the complaint's
             category, as tokens; they are the same for "垃圾没人清运" and "nobody collects
             the garbage", so one topic can hold both languages' comments on one problem
    codes    how close its words are (cosine) to each code's profile: the code's labels
             and rule keywords in both languages; softer than the rules (a text that says
             排队 without 挂号 is still near "long waits for registration") and, like them,
             the same measure in both languages

Each block is normalised per text, weighted (BRIDGE_WEIGHT, PROFILE_WEIGHT), and the whole
grouped by NMF (a fixed random_state: the same comments give the same topics). A text goes
to the topic with the largest weight; one with no features at all (an emoji) to none.
Each topic is described by its top terms in each language (the words that weigh most on
average over its Chinese texts, and over its English ones) and by the texts closest to its
centre.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from multiprocessing import get_context

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import NMF
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from civic.city import words
from civic.opinion._codebook import Codebook

# How much the bridges and the closeness to the codes' profiles count beside the words
# (each block has length 1 per text before weighting), and the share of texts a word may be
# in and still count; tuned on benchmarks/data/opinion_dev.tsv (docs/benchmarks.md).
BRIDGE_WEIGHT = 0.5
PROFILE_WEIGHT = 1.0
MAX_DF = 0.5
# NMF stops when its error improves by less than this share (scikit-learn: 1e-4)
TOL = 1e-3
TERMS = 8  # top terms kept per language
SAMPLES = 3  # texts kept per topic, closest to its centre
MAX_TOPICS = 40
CHUNK = 10_000  # texts tokenised at a time
PARALLEL_FROM = 40_000  # texts; fewer are tokenised in this process (starting others costs)
# Words of every complaint, whatever it is about: they would only blur the topics.
_GENERIC = """投诉 反映 问题 希望 能够 市民 情况 一直 还是 非常 真的 怎么回事 处理 解决 麻烦
    建议 谢谢 感谢 已经 这么 那么 没人 每天 天天 时候 一些 有点 比较 老是
    complaint complain problem issu pleas thank realli still alway veri also get one"""
GENERIC_WORDS = frozenset(_GENERIC.split())
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class Doc:
    """One text to group: its language ("zh", "en" or None), its complaint category and
    the codes suggested for it (None: ask the codebook's rules; a stored comment has them
    from its collection)."""

    text: str
    language: str | None = None
    category: str | None = None
    codes: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Group:
    """A topic found in the texts: the indices of its texts, its top terms per language
    and the indices of the texts closest to its centre, closest first."""

    members: list[int]
    terms: dict[str, list[str]]
    samples: list[int]


@dataclass(frozen=True)
class Grouping:
    groups: list[Group]
    ungrouped: list[int]  # texts with no feature at all
    k: int


def automatic_k(n: int, codebook: Codebook) -> int:
    """As many topics as the codebook has codes, so that a topic can line up with a code
    (and one that does not shows a gap), but at most one per ten texts."""
    leaves = sum(1 for code in codebook.codes.values() if code.parent is not None)
    return max(1, min(leaves, MAX_TOPICS, n // 10)) if n >= 2 else n


def _tokens(doc: Doc, surfaces: dict[str, Counter[str]]) -> list[str]:
    found = []
    for surface, token in words(doc.text, bigrams=False):
        if token in GENERIC_WORDS or token.isdigit():
            continue
        found.append(token)
        if token != surface:
            surfaces.setdefault(token, Counter())[surface] += 1
    return found


def _bridges(doc: Doc, codebook: Codebook) -> list[str]:
    codes = doc.codes if doc.codes is not None else codebook.suggest(doc.text, doc.category)
    tokens = []
    for code in codes:
        tokens.append(f"code:{code}")
        known = codebook.codes.get(code)
        if known is not None and known.parent:
            tokens.append(f"code:{known.parent}")
    if doc.category:
        tokens.append(f"category:{doc.category}")
    return tokens


Tokenised = tuple[list[list[str]], list[list[str]], dict[str, Counter[str]]]


def _tokenise(docs: Sequence[Doc], codebook: Codebook) -> Tokenised:
    """Each text's words and bridging tokens, and the spellings of each English stem."""
    surfaces: dict[str, Counter[str]] = {}
    tokens = [_tokens(doc, surfaces) for doc in docs]
    return tokens, [_bridges(doc, codebook) for doc in docs], surfaces


def _tokenise_all(docs: Sequence[Doc], codebook: Codebook, progress: Progress | None) -> Tokenised:
    """Tokenise each different text once (the same short complaint comes often), in
    chunks; many texts on more than one core are shared among processes (segmenting
    Chinese is most of the work, and Python runs it on one core)."""
    first: dict[Doc, int] = {}
    where = [first.setdefault(doc, len(first)) for doc in docs]
    tokens, bridges, surfaces = _tokenise_distinct(list(first), codebook, progress, len(docs))
    return [tokens[i] for i in where], [bridges[i] for i in where], surfaces


def _tokenise_distinct(
    docs: Sequence[Doc], codebook: Codebook, progress: Progress | None, total: int
) -> Tokenised:
    chunks = [docs[i : i + CHUNK] for i in range(0, len(docs), CHUNK)]
    workers = min(os.cpu_count() or 1, len(chunks))
    tokens: list[list[str]] = []
    bridges: list[list[str]] = []
    surfaces: dict[str, Counter[str]] = {}
    done: Iterable[Tokenised]
    with contextlib.ExitStack() as stack:
        if workers > 1 and len(docs) >= PARALLEL_FROM:
            pool = stack.enter_context(get_context("spawn").Pool(workers))
            done = pool.imap(_tokenise_chunk, [(chunk, codebook) for chunk in chunks])
        else:
            done = (_tokenise(chunk, codebook) for chunk in chunks)
        for chunk_tokens, chunk_bridges, chunk_surfaces in done:
            tokens += chunk_tokens
            bridges += chunk_bridges
            for stem, spellings in chunk_surfaces.items():
                surfaces.setdefault(stem, Counter()).update(spellings)
            if progress is not None:
                progress("tokenised", len(tokens) if len(tokens) < len(docs) else total)
    return tokens, bridges, surfaces


def _tokenise_chunk(job: tuple[Sequence[Doc], Codebook]) -> Tokenised:
    return _tokenise(*job)


@dataclass
class Features:
    """The texts' features: the words block (for the terms), the whole matrix (for the
    grouping) and each English stem's commonest spelling."""

    words: sp.csr_matrix
    matrix: sp.csr_matrix
    vocabulary: np.ndarray
    surfaces: dict[str, str]


def _identity(tokens: list[str]) -> list[str]:
    return tokens


def features(
    docs: Sequence[Doc],
    codebook: Codebook,
    progress: Progress | None = None,
    *,
    max_df: float = MAX_DF,
) -> Features:
    """Tokenise the texts and weigh their tokens; `progress("tokenised", n)` every CHUNK.
    Words in more than `max_df` of the texts are dropped: over all comments they say
    nothing about which topic a text is in; within one topic (describing it, splitting
    it) nothing is dropped."""
    tokens, bridges, counted = _tokenise_all(docs, codebook, progress)
    min_df = 2 if len(docs) >= 50 else 1
    vectoriser = TfidfVectorizer(
        analyzer=_identity, min_df=min_df, max_df=max_df, sublinear_tf=True, dtype=np.float32
    )
    # The code profiles are read as texts too: a word one comment shares with a profile
    # is kept.
    profiles = _profiles(codebook)
    try:
        weighted = vectoriser.fit_transform(tokens + profiles)
        vocabulary = vectoriser.get_feature_names_out()
    except ValueError:  # not one word in common
        weighted = sp.csr_matrix((len(docs) + len(profiles), 0), dtype=np.float32)
        vocabulary = np.array([])
    word_matrix = sp.csr_matrix(weighted[: len(docs)])
    closeness = normalize(word_matrix @ normalize(weighted[len(docs) :]).T)
    blocks = [word_matrix, BRIDGE_WEIGHT * _bridge_matrix(bridges), PROFILE_WEIGHT * closeness]
    matrix = sp.hstack(blocks, format="csr")
    surfaces = {stem: found.most_common(1)[0][0] for stem, found in counted.items()}
    return Features(word_matrix, matrix, vocabulary, surfaces)


def _profiles(codebook: Codebook) -> list[list[str]]:
    """Each code's profile as tokens: its labels and its rules' keywords, both languages."""
    codes = [code for code in codebook.codes.values() if code.parent is not None]
    keywords = {code.code: [code.label["zh"], code.label["en"]] for code in codes}
    for rule in codebook.rules:
        if rule.code in keywords:
            keywords[rule.code] += [*rule.zh, *rule.en]
    unused: dict[str, Counter[str]] = {}
    return [_tokens(Doc(" ".join(keywords[code.code])), unused) for code in codes]


def _bridge_matrix(bridges: list[list[str]]) -> sp.csr_matrix:
    if not any(bridges):
        return sp.csr_matrix((len(bridges), 0), dtype=np.float32)
    vectoriser = TfidfVectorizer(analyzer=_identity, dtype=np.float32)
    return sp.csr_matrix(vectoriser.fit_transform(bridges))


def group_texts(
    docs: Sequence[Doc],
    codebook: Codebook,
    *,
    k: int | None = None,
    random_state: int = 0,
    progress: Progress | None = None,
) -> Grouping:
    """Group the texts into `k` topics (automatic_k when None)."""
    found = features(docs, codebook, progress)
    return group_features(docs, found, codebook, k=k, random_state=random_state)


def group_features(
    docs: Sequence[Doc],
    found: Features,
    codebook: Codebook,
    *,
    k: int | None,
    random_state: int = 0,
) -> Grouping:
    matrix = found.matrix
    has_features = np.asarray(matrix.getnnz(axis=1) > 0)
    rows = np.flatnonzero(has_features)
    ungrouped = np.flatnonzero(~has_features).tolist()
    k = min(k or automatic_k(len(rows), codebook), len(rows), matrix.shape[1])
    if k < 1:
        return Grouping([], list(range(len(docs))), 0)
    if k == 1:
        labels = np.zeros(len(rows), dtype=int)
    else:
        model = NMF(
            n_components=k, init="nndsvda", random_state=random_state, max_iter=300, tol=TOL
        )
        weights = model.fit_transform(matrix[rows])
        labels = weights.argmax(axis=1)
    groups = []
    for topic in range(k):
        members = rows[labels == topic]
        if len(members):
            groups.append(describe(docs, found, members))
    groups.sort(key=lambda g: (-len(g.members), g.members[0]))
    return Grouping(groups, ungrouped, k)


def describe(docs: Sequence[Doc], found: Features, members: np.ndarray) -> Group:
    """A group of the texts `members`: its top terms per language and its samples."""
    terms = {
        lang: _top_terms(found, [i for i in members if docs[i].language == lang], lang)
        for lang in ("zh", "en")
    }
    return Group(
        members=[int(i) for i in members], terms=terms, samples=_samples(docs, found, members)
    )


def _top_terms(found: Features, members: list[int], lang: str) -> list[str]:
    if not members or not len(found.vocabulary):
        return []
    mean = np.asarray(found.words[members].mean(axis=0)).ravel()
    terms: list[str] = []
    for column in np.argsort(-mean, kind="stable"):
        if mean[column] <= 0 or len(terms) == TERMS:
            break
        token = str(found.vocabulary[column])
        if bool(_CJK.search(token)) == (lang == "zh"):
            terms.append(found.surfaces.get(token, token))
    return terms


def _samples(docs: Sequence[Doc], found: Features, members: np.ndarray) -> list[int]:
    """The texts closest to the centre (cosine), the closest of each language first, so a
    topic of both languages shows both."""
    rows = normalize(found.matrix[members])
    centre = np.asarray(rows.mean(axis=0)).ravel()
    closeness = rows @ centre
    ranked = [int(members[i]) for i in np.argsort(-closeness, kind="stable")]
    chosen: list[int] = []
    for lang in ("zh", "en"):
        best = next((i for i in ranked if docs[i].language == lang), None)
        if best is not None:
            chosen.append(best)
    chosen += [i for i in ranked if i not in chosen][: max(0, SAMPLES - len(chosen))]
    return sorted(chosen[:SAMPLES], key=ranked.index)
