"""Topics of the uncoded comments: how fast, and how good.

Speed: `--comments` (default 200,000) comments made by recombining the development set's
texts (two texts of one code and language, clause by clause, with a place or a time
around them), grouped by `group_texts` in memory, then stored in a scratch PostgreSQL
schema and grouped by `group_topics` the whole way (read, group, store each comment's
topic). Target: under 120 s.

    .venv/bin/python benchmarks/opinion_topics.py speed \\
        --database-url postgresql+psycopg2://postgres@127.0.0.1:5432/test [--comments 200000]

Quality: the topics of a hand-coded set (benchmarks/data/opinion_<set>.tsv: language,
source, code, text) against its codes, by the adjusted Rand index and purity, over both
languages together and each language alone (of the same grouping). The number of topics
is the automatic one (as many as the codebook's codes). Tune on `dev` only; `heldout` is
run once, at the end, and recorded as it comes out.

    .venv/bin/python benchmarks/opinion_topics.py quality --set dev
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import secrets
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sklearn.metrics import adjusted_rand_score
from sklearn.metrics.cluster import contingency_matrix
from sqlalchemy import insert, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from civic.city import load_profile  # noqa: E402
from civic.opinion import (  # noqa: E402
    SUGGESTED,
    Codebook,
    Doc,
    codebook_path,
    group_texts,
    group_topics,
    load_codebook,
)
from civic.settings import mask_url_password  # noqa: E402
from storage.db import make_engine, migrate, session_factory  # noqa: E402
from storage.models import Comment, CommentCode  # noqa: E402

DATA = ROOT / "benchmarks" / "data"
BATCH = 10_000
_CLAUSES = {"zh": re.compile(r"(?<=[，。！？；])"), "en": re.compile(r"(?<=[,.;!?])\s+")}
# Around each made text: where (a place of the profile's gazetteer) and since when.
_WHERE = {
    "zh": ["{place}这边", "{place}附近，", "在{place}，", ""],
    "en": ["Near {place}: ", "{place}. ", ""],
}
_WHEN = {
    "zh": ["", "已经{n}天了", "第{n}次反映了", "{n}号那天开始的"],
    "en": ["", " {n} days now.", " Reported {n} times.", " Since the {n}th."],
}


def read_set(name: str) -> list[dict[str, str]]:
    with (DATA / f"opinion_{name}.tsv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def purity(truth: list[str], found: list[int] | list[str]) -> float:
    table = contingency_matrix(truth, found)
    return float(table.max(axis=0).sum() / table.sum())


def quality(codebook: Codebook, name: str) -> None:
    rows = read_set(name)
    docs = [Doc(row["text"], row["language"]) for row in rows]
    started = time.perf_counter()
    grouping = group_texts(docs, codebook)
    seconds = time.perf_counter() - started
    found = [-1] * len(docs)  # a text with no features is a group of its own kind
    for number, group in enumerate(grouping.groups):
        for i in group.members:
            found[i] = number
    print(f"opinion_{name}.tsv: {len(rows)} texts, {len({r['code'] for r in rows})} codes,")
    print(
        f"  {grouping.k} topics, {len(grouping.ungrouped)} texts without features, {seconds:.1f} s"
    )
    # For comparison: the keyword rules alone, a text in the group of its first suggested
    # code (or of none).
    rules = [(codebook.suggest(row["text"]) or ("(none)",))[0] for row in rows]
    for lang in (None, "zh", "en"):
        keep = [i for i, row in enumerate(rows) if lang is None or row["language"] == lang]
        truth = [rows[i]["code"] for i in keep]
        mine, theirs = [found[i] for i in keep], [rules[i] for i in keep]
        ari, pure = adjusted_rand_score(truth, mine), purity(truth, mine)
        base = f"rules alone: ARI {adjusted_rand_score(truth, theirs):.3f}"
        base += f"  purity {purity(truth, theirs):.3f}"
        print(f"  {lang or 'both':<5} n={len(keep):<4} ARI {ari:.3f}  purity {pure:.3f}  ({base})")


def recombined(rows: list[dict[str, str]], places: list[dict[str, str]], n: int) -> list[Doc]:
    """`n` texts like the set's: the clauses of two texts of one code and language, with a
    place before and a time after."""
    rng = random.Random(7)
    by_kind: dict[tuple[str, str], list[list[str]]] = {}
    for row in rows:
        clauses = [c for c in _CLAUSES[row["language"]].split(row["text"]) if c.strip()]
        by_kind.setdefault((row["code"], row["language"]), []).append(clauses)
    kinds = sorted(by_kind)
    docs = []
    for _ in range(n):
        code, lang = rng.choice(kinds)
        first, second = rng.choice(by_kind[(code, lang)]), rng.choice(by_kind[(code, lang)])
        clauses = first[: rng.randint(1, len(first))] + second[rng.randint(0, len(second) - 1) :]
        before = rng.choice(_WHERE[lang]).format(place=rng.choice(places)[lang])
        after = rng.choice(_WHEN[lang]).format(n=rng.randint(2, 30))
        joiner = "" if lang == "zh" else " "
        docs.append(Doc(before + joiner.join(clauses).strip() + after, lang))
    return docs


def speed(codebook: Codebook, places: list[dict[str, str]], server: str, n: int) -> None:
    docs = recombined(read_set("dev"), places, n)
    print(f"{n:,} comments made, {len({d.text for d in docs}):,} of them different")
    started = time.perf_counter()
    grouping = group_texts(docs, codebook, progress=_progress)
    in_memory = time.perf_counter() - started
    print(f"group_texts in memory: {in_memory:.1f} s, {grouping.k} topics")
    schema = f"bench_topics_{secrets.token_hex(4)}"
    admin = make_engine(server)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{server}{'&' if '?' in server else '?'}options=-csearch_path%3D{schema}"
    try:
        migrate(url)
        with session_factory(url)() as session:
            _store(session, docs, codebook)
            started = time.perf_counter()
            run = group_topics(session=session, codebook=codebook, progress=_progress)
            session.commit()
            whole = time.perf_counter() - started
        print(f"group_topics on PostgreSQL ({mask_url_password(server)}): {whole:.1f} s,")
        print(f"  {run.comments:,} comments, run's own measure {run.seconds:.1f} s")
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _store(session: Session, docs: list[Doc], codebook: Codebook) -> None:
    """The comments as collection leaves them: with the codes the rules suggest."""
    at = datetime(2026, 6, 1, tzinfo=UTC)
    for start in range(0, len(docs), BATCH):
        batch = list(enumerate(docs[start : start + BATCH], start=start + 1))
        comments = [
            {
                "id": number,
                "source": "complaint",
                "source_id": number,
                "created_at": at,
                "month": "2026-06",
                "language": doc.language,
                "assurance": "anonymous",
                "text": doc.text,
                "collected_at": at,
            }
            for number, doc in batch
        ]
        session.execute(insert(Comment), comments)
        codes = [
            {"comment_id": number, "kind": SUGGESTED, "code": code}
            for number, doc in batch
            for code in codebook.suggest(doc.text)
        ]
        if codes:
            session.execute(insert(CommentCode), codes)
    session.commit()


def _progress(step: str, count: int) -> None:
    if step != "tokenised" or count % 50_000 == 0:
        sys.stderr.write(f"  {step} {count:,}\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    fast = commands.add_parser("speed")
    fast.add_argument("--database-url", required=True, help="a PostgreSQL server")
    fast.add_argument("--comments", type=int, default=200_000)
    good = commands.add_parser("quality")
    good.add_argument("--set", choices=["dev", "heldout"], required=True)
    args = parser.parse_args()
    profile = load_profile(ROOT / "profiles" / "hangzhou")
    codebook = load_codebook(codebook_path(profile), profile)
    if args.command == "speed":
        places = [place.name for place in profile.places]
        speed(codebook, places, args.database_url, args.comments)
    else:
        quality(codebook, args.set)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
