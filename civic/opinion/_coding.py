"""Coding comments by hand, and double coding.

Office staff code a comment with one or more codebook codes; the first is its primary
code. Each coder's codes are kept (`comment_codings`), and the comment's accepted codes
(which the trends count) are written from them:

- outside a sample, the latest coder's codes are accepted at once;
- in a double-coding sample two coders code each comment without seeing each other's
  codes. Once both have, the comment's accepted codes are their codes if they chose the
  same ones (in any order); if not, it has none until the office adjudicates. A coding
  made before the comment was drawn counts as one of the two, and a third coder is
  refused: agreement (`_agreement.py`) is measured between two.

A refusal is a `CodingRefused` whose key names its text (`opinion.coding.error.<key>`,
in zh and en), so each edge says it in the reader's language.
"""

from __future__ import annotations

import json
import random

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from civic.errors import UserFacingError
from civic.opinion._codebook import Codebook
from civic.opinion._collect import accept_codes
from civic.opinion._selection import CommentFilter, filtered
from storage.models import (
    AgencyUser,
    CodingSample,
    CodingSampleItem,
    Comment,
    CommentCoding,
    utcnow,
)

MAX_SAMPLE = 1000
MAX_SEED = 2**31 - 1  # the seed is stored in a 32-bit column


class CodingRefused(UserFacingError):
    """A coding, adjudication or sample the service will not write; nothing was written.
    `key` names the text under `opinion.coding.error.`, `params` fill it in."""


def split_codes(codes: str) -> list[str]:
    """A stored coding's codes, primary first."""
    return [code for code in codes.split(",") if code]


def is_office(user: AgencyUser) -> bool:
    """The evaluation office's staff, who do the public-opinion analysis."""
    return user.agency is None and user.role == "staff"


def chosen_codes(codebook: Codebook, codes: list[str]) -> list[str]:
    """The codes as given, without repeats and blanks; refused when there is none or one
    is not in the codebook."""
    chosen = list(dict.fromkeys(code.strip() for code in codes if code.strip()))
    if not chosen:
        raise CodingRefused("no_code")
    unknown = [code for code in chosen if code not in codebook.codes]
    if unknown:
        raise CodingRefused("unknown_code", code=", ".join(unknown))
    return chosen


def code_comment(
    *,
    session: Session,
    codebook: Codebook,
    comment_id: int,
    coder: AgencyUser,
    codes: list[str],
) -> CommentCoding:
    """Write (or replace) the coder's codes for the comment, and its accepted codes as
    the module's docstring says; CodingRefused before anything is written."""
    if not is_office(coder):
        raise CodingRefused("office_only")
    chosen = chosen_codes(codebook, codes)
    comment = _comment(session, comment_id)
    others = [c for c in codings_of(session, comment_id) if c.coder_id != coder.id]
    sampled = in_a_sample(session, comment_id)
    if sampled and len(others) >= 2:
        raise CodingRefused("two_coders")
    mine = session.get(CommentCoding, (comment_id, coder.id))
    if mine is None:
        mine = CommentCoding(comment_id=comment_id, coder_id=coder.id)
        session.add(mine)
    mine.codes, mine.coded_at = ",".join(chosen), utcnow()
    session.flush()
    if not sampled:
        accept_codes(session=session, comment=comment, codes=chosen, codebook=codebook)
    elif others:
        agreed = set(chosen) == set(split_codes(others[0].codes))
        accept_codes(
            session=session, comment=comment, codes=chosen if agreed else [], codebook=codebook
        )
    return mine


def adjudicate(
    *,
    session: Session,
    codebook: Codebook,
    sample_id: int,
    comment_id: int,
    adjudicator: AgencyUser,
    codes: list[str],
) -> None:
    """The office's decision on a comment of a sample both coders have coded: these
    become its accepted codes (until a coder codes it again)."""
    if not is_office(adjudicator):
        raise CodingRefused("office_only")
    chosen = chosen_codes(codebook, codes)
    comment = _comment(session, comment_id)
    if comment_id not in sample_items(session, sample_id):
        raise CodingRefused("not_in_sample", id=comment_id)
    if len(codings_of(session, comment_id)) < 2:
        raise CodingRefused("not_both_coded")
    accept_codes(session=session, comment=comment, codes=chosen, codebook=codebook)


def visible_codings(
    session: Session, *, comment_id: int, viewer: AgencyUser
) -> list[CommentCoding]:
    """The codings of the comment the viewer may see: their own always; the others' once
    two coders have coded it if it is in a sample (before that, seeing the first coder's
    codes would sway the second), always otherwise."""
    codings = codings_of(session, comment_id)
    if len(codings) >= 2 or not in_a_sample(session, comment_id):
        return codings
    return [c for c in codings if c.coder_id == viewer.id]


def codings_of(session: Session, comment_id: int) -> list[CommentCoding]:
    """Every coder's coding of the comment, the earliest first."""
    query = select(CommentCoding).where(CommentCoding.comment_id == comment_id)
    return list(session.scalars(query.order_by(CommentCoding.coded_at, CommentCoding.coder_id)))


def in_a_sample(session: Session, comment_id: int) -> bool:
    return bool(session.scalar(select(exists().where(CodingSampleItem.comment_id == comment_id))))


def sample_items(session: Session, sample_id: int) -> list[int]:
    """The comments of the sample, in the order they are coded (by id)."""
    query = select(CodingSampleItem.comment_id).where(CodingSampleItem.sample_id == sample_id)
    return list(session.scalars(query.order_by(CodingSampleItem.comment_id)))


def next_uncoded(session: Session, *, sample_id: int, coder: AgencyUser) -> int | None:
    """The first comment of the sample the coder has not coded and two others have not
    coded either; None when there is none left."""
    for comment_id in sample_items(session, sample_id):
        coders = {c.coder_id for c in codings_of(session, comment_id)}
        if coder.id not in coders and len(coders) < 2:
            return comment_id
    return None


def draw_sample(
    *,
    session: Session,
    n: int,
    seed: int,
    chosen: CommentFilter,
    name: str = "",
    created_by: AgencyUser | None = None,
) -> CodingSample:
    """A simple random sample of `n` of the chosen comments (all of them when there are
    fewer): the same seed over the same comments draws the same sample."""
    if not 1 <= n <= MAX_SAMPLE:
        raise CodingRefused("bad_size", most=MAX_SAMPLE)
    if not 0 <= seed <= MAX_SEED:
        raise CodingRefused("bad_seed", most=MAX_SEED)
    ids = list(session.scalars(filtered(select(Comment.id), chosen).order_by(Comment.id)))
    if not ids:
        raise CodingRefused("nothing_to_draw")
    drawn = sorted(random.Random(seed).sample(ids, min(n, len(ids))))
    sample = CodingSample(
        name=name.strip()[:128],
        seed=seed,
        drawn_from=json.dumps({**chosen.values(), "n": n}, sort_keys=True),
        created_by=created_by.id if created_by else None,
    )
    session.add(sample)
    session.flush()
    session.add_all(CodingSampleItem(sample_id=sample.id, comment_id=i) for i in drawn)
    session.flush()
    return sample


def _comment(session: Session, comment_id: int) -> Comment:
    comment = session.get(Comment, comment_id)
    if comment is None:
        raise CodingRefused("no_comment", id=comment_id)
    return comment
