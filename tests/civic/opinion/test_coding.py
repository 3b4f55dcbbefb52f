"""Coding comments by hand and double coding, on SQLite and PostgreSQL: codes checked
against the codebook with nothing written on a refusal, accepted codes written at once
outside a sample and only on agreement or adjudication inside one, a coder kept from the
other coder's codes, samples reproducible by seed, and Cohen's kappa against tables
worked out by hand.

The 2x2 table (50 comments, primary codes; rows coder A, columns coder B):

                B noise   B parking   A's total
    A noise        20          5          25
    A parking      10         15          25
    B's total      30         20          50

Observed agreement p_o = (20 + 15) / 50 = 0.70. Expected p_e = (25 × 30 + 25 × 20) / 50²
= 0.50. kappa = (0.70 − 0.50) / (1 − 0.50) = 0.40. SE = sqrt(0.70 × 0.30 / (50 × 0.50²))
= sqrt(0.0168) = 0.129615; 95% interval 0.40 ± 1.959964 × 0.129615 = 0.40 ± 0.254041 =
[0.145959, 0.654041]. Noise is under the theme "environment" and parking under
"roads-traffic", so each theme's yes/no table is the same table: kappa 0.40 for both.

The 3x3 table (4 comments: A says noise, noise, parking, bus-frequency; B says noise,
parking, parking, bus-frequency): p_o = 3/4; A's shares 2/4, 1/4, 1/4 and B's 1/4, 2/4,
1/4 give p_e = (2 + 2 + 1) / 16 = 0.3125; kappa = 0.4375 / 0.6875 = 0.636364.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from civic.city import Profile
from civic.opinion import (
    Codebook,
    CodingRefused,
    CommentFilter,
    adjudicate,
    agreement,
    code_comment,
    codebook_path,
    cohen_kappa,
    draw_sample,
    load_codebook,
    next_uncoded,
    sample_items,
    visible_codings,
)
from storage.models import AgencyUser, CodingSample, Comment, CommentCode, CommentCoding


@pytest.fixture
def codebook(profile: Profile) -> Codebook:
    return load_codebook(codebook_path(profile), profile)


def _user(session: Session, username: str, agency: str | None = None) -> AgencyUser:
    user = AgencyUser(
        username=username,
        password_hash="-",
        display_name=username.title(),
        agency=agency,
        role="staff" if agency is None else "officer",
    )
    session.add(user)
    session.flush()
    return user


def _comments(session: Session, count: int, **fields: str) -> list[int]:
    """`count` comments (one suggested code each), their ids in order."""
    start = len(session.scalars(select(Comment.id)).all()) + 1
    comments = []
    for number in range(start, start + count):
        values = {"agency": "transport", "month": "2026-03", "language": "zh", **fields}
        year, month = (int(part) for part in values["month"].split("-"))
        comment = Comment(
            source=values.pop("source", "complaint"),
            source_id=number,
            district="xihu",
            created_at=datetime(year, month, 10, tzinfo=UTC),
            assurance="anonymous",
            text="公交车太少",
            codes=[CommentCode(kind="suggested", code="bus-frequency")],
            **values,
        )
        session.add(comment)
        comments.append(comment)
    session.flush()
    return [c.id for c in comments]


def _accepted(session: Session, comment_id: int) -> list[str]:
    query = select(CommentCode.code).where(
        CommentCode.comment_id == comment_id, CommentCode.kind == "accepted"
    )
    return sorted(session.scalars(query))


@pytest.fixture
def office(session: Session) -> tuple[AgencyUser, AgencyUser, AgencyUser]:
    return _user(session, "zhang"), _user(session, "li"), _user(session, "zhao")


# --- Kappa worked by hand ---


def test_kappa_of_the_two_by_two_table_worked_out_above() -> None:
    pairs = (
        [("noise", "noise")] * 20
        + [("noise", "parking")] * 5
        + [("parking", "noise")] * 10
        + [("parking", "parking")] * 15
    )
    found = cohen_kappa(pairs)
    assert (found.n, found.observed, found.expected) == (50, 0.7, 0.5)
    assert found.kappa == pytest.approx(0.4)
    assert found.se == pytest.approx(0.129615, abs=1e-6)
    assert (found.low, found.high) == (
        pytest.approx(0.145959, abs=1e-6),
        pytest.approx(0.654041, abs=1e-6),
    )
    assert found.categories == ("noise", "parking")
    assert [found.count(a, b) for a in found.categories for b in found.categories] == [
        20,
        5,
        10,
        15,
    ]


def test_kappa_of_the_three_by_three_table_worked_out_above() -> None:
    pairs = [
        ("noise", "noise"),
        ("noise", "parking"),
        ("parking", "parking"),
        ("bus-frequency", "bus-frequency"),
    ]
    found = cohen_kappa(pairs)
    assert (found.observed, found.expected) == (0.75, 0.3125)
    assert found.kappa == pytest.approx(0.636364, abs=1e-6)
    assert found.high == 1.0  # the interval is cut at 1


def test_kappa_is_undefined_when_both_coders_always_choose_the_same_category() -> None:
    found = cohen_kappa([("noise", "noise")] * 3)
    assert (found.observed, found.expected, found.kappa, found.low) == (1.0, 1.0, None, None)


def test_agreement_of_a_sample_coded_as_the_two_by_two_table(
    session: Session, codebook: Codebook, office: tuple[AgencyUser, ...]
) -> None:
    zhang, li, _ = office
    ids = _comments(session, 50)
    sample = draw_sample(session=session, n=50, seed=1, chosen=CommentFilter(), created_by=zhang)
    first = ["noise"] * 25 + ["parking"] * 25
    second = ["noise"] * 20 + ["parking"] * 5 + ["noise"] * 10 + ["parking"] * 15
    for comment_id, a, b in zip(ids, first, second, strict=True):
        code_comment(
            session=session, codebook=codebook, comment_id=comment_id, coder=zhang, codes=[a]
        )
        code_comment(session=session, codebook=codebook, comment_id=comment_id, coder=li, codes=[b])
    session.commit()

    found = agreement(session=session, sample_id=sample.id, codebook=codebook)
    assert (found.status, found.items, found.coders) == ("ok", 50, (zhang.id, li.id))
    assert found.primary is not None and found.primary.kappa == pytest.approx(0.4)
    assert {theme: round(k.kappa or 0, 6) for theme, k in found.themes.items()} == {
        "roads-traffic": 0.4,
        "environment": 0.4,
    }
    assert len(found.disagreements) == 15
    assert found.disagreements[0].first == ["noise"] and found.disagreements[0].second == [
        "parking"
    ]


def test_agreement_says_when_there_are_too_few_coders_or_no_overlap(
    session: Session, codebook: Codebook, office: tuple[AgencyUser, ...]
) -> None:
    zhang, li, _ = office
    ids = _comments(session, 2)
    sample = draw_sample(session=session, n=2, seed=1, chosen=CommentFilter())
    found = agreement(session=session, sample_id=sample.id, codebook=codebook)
    assert (found.status, found.coders, found.primary) == ("too_few_coders", (), None)
    code_comment(
        session=session, codebook=codebook, comment_id=ids[0], coder=zhang, codes=["noise"]
    )
    code_comment(session=session, codebook=codebook, comment_id=ids[1], coder=li, codes=["noise"])
    found = agreement(session=session, sample_id=sample.id, codebook=codebook)
    assert (found.status, found.primary, found.disagreements) == ("no_overlap", None, [])


# --- Coding ---


def test_a_coding_outside_a_sample_is_accepted_at_once_primary_first(
    session: Session, codebook: Codebook, office: tuple[AgencyUser, ...]
) -> None:
    zhang, li, _ = office
    [comment_id] = _comments(session, 1)
    code_comment(
        session=session,
        codebook=codebook,
        comment_id=comment_id,
        coder=zhang,
        codes=["parking", " noise", "parking", ""],
    )
    coding = session.get(CommentCoding, (comment_id, zhang.id))
    assert coding is not None and coding.codes == "parking,noise"
    assert _accepted(session, comment_id) == ["noise", "parking"]
    code_comment(
        session=session, codebook=codebook, comment_id=comment_id, coder=li, codes=["congestion"]
    )
    assert _accepted(session, comment_id) == ["congestion"]


@pytest.mark.parametrize(
    ("codes", "key", "params"),
    [
        (["noise", "parking-fees"], "unknown_code", {"code": "parking-fees"}),
        ([], "no_code", {}),
        (["  "], "no_code", {}),
    ],
)
def test_unknown_or_missing_codes_are_refused_and_nothing_is_written(
    session: Session,
    codebook: Codebook,
    office: tuple[AgencyUser, ...],
    codes: list[str],
    key: str,
    params: dict[str, str],
) -> None:
    [comment_id] = _comments(session, 1)
    with pytest.raises(CodingRefused) as refused:
        code_comment(
            session=session, codebook=codebook, comment_id=comment_id, coder=office[0], codes=codes
        )
    assert (refused.value.key, refused.value.params) == (key, params)
    assert session.scalars(select(CommentCoding)).all() == []
    assert _accepted(session, comment_id) == []


def test_an_agency_user_may_not_code(session: Session, codebook: Codebook) -> None:
    officer = _user(session, "wang", agency="water")
    [comment_id] = _comments(session, 1)
    with pytest.raises(CodingRefused) as refused:
        code_comment(
            session=session,
            codebook=codebook,
            comment_id=comment_id,
            coder=officer,
            codes=["noise"],
        )
    assert refused.value.key == "office_only"


def test_in_a_sample_codes_are_accepted_only_when_the_two_coders_agree(
    session: Session, codebook: Codebook, office: tuple[AgencyUser, ...]
) -> None:
    zhang, li, zhao = office
    agreeing, differing = _comments(session, 2)
    draw_sample(session=session, n=2, seed=3, chosen=CommentFilter())

    def code(comment_id: int, coder: AgencyUser, codes: list[str]) -> None:
        code_comment(
            session=session, codebook=codebook, comment_id=comment_id, coder=coder, codes=codes
        )

    code(agreeing, zhang, ["noise", "parking"])
    assert _accepted(session, agreeing) == []  # the second coder has not coded yet
    code(agreeing, li, ["parking", "noise"])
    assert _accepted(session, agreeing) == ["noise", "parking"]

    code(differing, zhang, ["noise"])
    code(differing, li, ["parking"])
    assert _accepted(session, differing) == []
    with pytest.raises(CodingRefused) as refused:
        code(differing, zhao, ["noise"])
    assert refused.value.key == "two_coders"


def test_the_office_adjudicates_a_disagreement(
    session: Session, codebook: Codebook, office: tuple[AgencyUser, ...]
) -> None:
    zhang, li, zhao = office
    comment_id, _other = _comments(session, 2)
    sample = draw_sample(session=session, n=2, seed=3, chosen=CommentFilter())
    code_comment(
        session=session, codebook=codebook, comment_id=comment_id, coder=zhang, codes=["noise"]
    )
    with pytest.raises(CodingRefused) as refused:
        adjudicate(
            session=session,
            codebook=codebook,
            sample_id=sample.id,
            comment_id=comment_id,
            adjudicator=zhao,
            codes=["noise"],
        )
    assert refused.value.key == "not_both_coded"
    code_comment(
        session=session, codebook=codebook, comment_id=comment_id, coder=li, codes=["parking"]
    )
    adjudicate(
        session=session,
        codebook=codebook,
        sample_id=sample.id,
        comment_id=comment_id,
        adjudicator=zhao,
        codes=["parking"],
    )
    assert _accepted(session, comment_id) == ["parking"]
    [decided] = agreement(session=session, sample_id=sample.id, codebook=codebook).disagreements
    assert (decided.comment_id, decided.accepted) == (comment_id, ["parking"])


def test_a_coder_sees_the_other_coders_codes_only_once_both_have_coded(
    session: Session, codebook: Codebook, office: tuple[AgencyUser, ...]
) -> None:
    zhang, li, zhao = office
    first, second = _comments(session, 2)
    sample = draw_sample(session=session, n=2, seed=3, chosen=CommentFilter())
    code_comment(session=session, codebook=codebook, comment_id=first, coder=zhang, codes=["noise"])

    def seen(viewer: AgencyUser) -> list[int]:
        return [c.coder_id for c in visible_codings(session, comment_id=first, viewer=viewer)]

    assert (seen(zhang), seen(li), seen(zhao)) == ([zhang.id], [], [])
    assert next_uncoded(session, sample_id=sample.id, coder=li) == first
    assert next_uncoded(session, sample_id=sample.id, coder=zhang) == second
    code_comment(session=session, codebook=codebook, comment_id=first, coder=li, codes=["noise"])
    assert seen(li) == seen(zhao) == [zhang.id, li.id]
    assert next_uncoded(session, sample_id=sample.id, coder=zhao) == second


# --- Samples ---


def test_the_same_seed_draws_the_same_sample_from_the_filtered_comments(
    session: Session, office: tuple[AgencyUser, ...]
) -> None:
    chosen_ids = set(_comments(session, 30, source="window", language="en"))
    _comments(session, 10, source="window", language="zh")
    _comments(session, 10, source="window", language="en", month="2025-03")
    _comments(session, 10, source="complaint", language="en")
    chosen = CommentFilter(year=2026, source="window", language="en")

    def draw(seed: int) -> list[int]:
        sample = draw_sample(session=session, n=8, seed=seed, chosen=chosen, name="Windows")
        return sample_items(session, sample.id)

    first, again, other = draw(42), draw(42), draw(7)
    assert first == again and len(first) == 8 and set(first) <= chosen_ids
    assert first != other
    stored = session.scalars(select(CodingSample).order_by(CodingSample.id)).first()
    assert stored is not None and (stored.name, stored.seed) == ("Windows", 42)
    assert json.loads(stored.drawn_from) == {
        "language": "en",
        "n": 8,
        "source": "window",
        "year": 2026,
    }


def test_a_sample_larger_than_the_comments_takes_them_all(session: Session) -> None:
    ids = _comments(session, 3)
    sample = draw_sample(session=session, n=10, seed=1, chosen=CommentFilter())
    assert sample_items(session, sample.id) == ids


@pytest.mark.parametrize(
    ("n", "seed", "chosen", "key"),
    [
        (0, 1, CommentFilter(), "bad_size"),
        (1001, 1, CommentFilter(), "bad_size"),
        (5, -1, CommentFilter(), "bad_seed"),
        (5, 1, CommentFilter(agency="water"), "nothing_to_draw"),
    ],
)
def test_a_bad_sample_is_refused_and_nothing_is_written(
    session: Session, n: int, seed: int, chosen: CommentFilter, key: str
) -> None:
    _comments(session, 3)
    with pytest.raises(CodingRefused) as refused:
        draw_sample(session=session, n=n, seed=seed, chosen=chosen)
    assert refused.value.key == key
    assert session.scalars(select(CodingSample)).all() == []
