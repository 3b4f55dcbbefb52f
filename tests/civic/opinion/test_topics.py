"""Topics of the uncoded comments, on SQLite and PostgreSQL, with the real topic model:
complaints about uncollected garbage and about broken street lights, in Chinese and in
English, fall into two topics whose terms name each problem in both languages; a comment
with an accepted code is not grouped; staff accept a topic as a code (its comments then
count under it in trends), rename, merge and split topics; and what cannot be done is
refused without writing anything."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from civic.city import Profile, load_profile
from civic.opinion import (
    ACCEPTED,
    SUGGESTED,
    Codebook,
    Doc,
    TopicError,
    TopicFilter,
    accept_topic,
    automatic_k,
    codebook_path,
    group_texts,
    group_topics,
    latest_run,
    load_codebook,
    merge_topics,
    rename_topic,
    run_topics,
    sample_comments,
    split_topic,
    top_problems,
    topic_terms,
)
from civic.settings import PROJECT_ROOT
from storage.models import Comment, CommentCode, Topic, TopicRun

GARBAGE = [
    ("zh", "小区门口的垃圾桶满了三天没人清运，臭味很大"),
    ("zh", "垃圾站的垃圾堆成山了，垃圾车一直不来"),
    ("zh", "楼下垃圾没人收，苍蝇到处飞"),
    ("zh", "垃圾清运太慢，垃圾桶旁边全是垃圾袋"),
    ("zh", "我们这条街的垃圾一个星期才收一次垃圾"),
    ("en", "The garbage bins outside our building have not been emptied for a week"),
    ("en", "Garbage is piling up at the collection point and the garbage truck never comes"),
    ("en", "Nobody collects the garbage on our street, the bins overflow"),
    ("en", "Overflowing garbage bins and rubbish bags everywhere near the market"),
    ("en", "The garbage truck skipped our street again, garbage everywhere"),
]
LIGHTS = [
    ("zh", "文三路的路灯坏了好几盏，晚上一片漆黑"),
    ("zh", "小区外面的路灯不亮了，晚上走路很危险"),
    ("zh", "路灯一闪一闪的，整条路晚上都很暗"),
    ("zh", "桥下的路灯坏了一个月了也没人修路灯"),
    ("zh", "晚上路灯全黑，骑车看不清路"),
    ("en", "The street lights on our road are broken and it is completely dark at night"),
    ("en", "Street light outside number 12 has been flickering for weeks"),
    ("en", "Several street lights near the bridge are out, walking at night is dangerous"),
    ("en", "Dark street at night because the street lights do not work"),
    ("en", "The street lamp is broken, please fix the street lights"),
]


@pytest.fixture
def codebook(profile: Profile) -> Codebook:
    return load_codebook(codebook_path(profile), profile)


@cache
def _rules() -> Codebook:
    profile = load_profile(PROJECT_ROOT / "profiles" / "hangzhou")
    return load_codebook(codebook_path(profile), profile)


def _add(session: Session, texts: list[tuple[str, str]], month: str = "2026-05") -> list[int]:
    """Comments of complaints as collected: with the codes the rules suggest, none
    accepted; their ids in order."""
    first = int(session.scalar(select(Comment.source_id).order_by(Comment.source_id.desc())) or 0)
    comments = [
        Comment(
            source="complaint",
            source_id=first + i,
            created_at=datetime(int(month[:4]), int(month[5:]), 10, tzinfo=UTC),
            month=month,
            language=language,
            text=text,
            codes=[CommentCode(kind=SUGGESTED, code=code) for code in _rules().suggest(text)],
        )
        for i, (language, text) in enumerate(texts, start=1)
    ]
    session.add_all(comments)
    session.flush()
    return [c.id for c in comments]


def _codes(session: Session) -> list[tuple[int, str, str]]:
    rows = session.execute(select(CommentCode.comment_id, CommentCode.kind, CommentCode.code))
    return sorted((row[0], row[1], row[2]) for row in rows)


def _topic_of(session: Session, ids: list[int]) -> set[int | None]:
    return set(session.scalars(select(Comment.topic_id).where(Comment.id.in_(ids))))


@pytest.fixture
def grouped(session: Session, codebook: Codebook) -> tuple[list[int], list[int], TopicRun]:
    garbage, lights = _add(session, GARBAGE), _add(session, LIGHTS)
    run = group_topics(session=session, codebook=codebook, k=2)
    session.commit()
    return garbage, lights, run


def _topics(session: Session, run: TopicRun) -> dict[str, Topic]:
    """The run's two topics, named by the problem their Chinese terms name."""
    found = {}
    for topic in run_topics(session=session, run=run):
        terms = topic_terms(topic)
        found["garbage" if "垃圾" in terms["zh"] else "lights"] = topic
    return found


def test_two_problems_in_two_languages_make_two_topics_named_in_both(
    session: Session, grouped: tuple[list[int], list[int], TopicRun]
) -> None:
    garbage, lights, run = grouped
    [garbage_topic] = _topic_of(session, garbage)
    [lights_topic] = _topic_of(session, lights)
    assert garbage_topic is not None and lights_topic is not None
    assert garbage_topic != lights_topic
    topics = _topics(session, run)
    assert {topics["garbage"].id, topics["lights"].id} == {garbage_topic, lights_topic}
    garbage_terms, light_terms = topic_terms(topics["garbage"]), topic_terms(topics["lights"])
    assert "垃圾" in garbage_terms["zh"][:2] and "garbage" in garbage_terms["en"][:2]
    assert "路灯" in light_terms["zh"][:2] and "street" in light_terms["en"][:3]
    assert {topics["garbage"].size, topics["lights"].size} == {10}
    samples = sample_comments(session=session, topic=topics["lights"])
    assert len(samples) == 3
    assert {c.language for c in samples} == {"zh", "en"}
    assert all(c.topic_id == lights_topic for c in samples)
    assert (run.comments, json.loads(run.params)["k"]) == (20, 2)
    assert run.seconds is not None and run.seconds > 0


def test_the_model_alone_groups_texts_in_memory(codebook: Codebook) -> None:
    docs = [Doc(text, language) for language, text in GARBAGE + LIGHTS]
    grouping = group_texts(docs, codebook, k=2)
    assert sorted(sorted(g.members) for g in grouping.groups) == [
        list(range(10)),
        list(range(10, 20)),
    ]
    assert grouping.ungrouped == []
    # automatic: the codebook's codes, at most one topic per ten texts
    assert automatic_k(20, codebook) == 2
    assert automatic_k(100_000, codebook) == sum(1 for c in codebook.codes.values() if c.parent)


def test_coded_comments_and_other_years_are_not_grouped(
    session: Session, codebook: Codebook
) -> None:
    ids = _add(session, GARBAGE + LIGHTS)
    old = _add(session, GARBAGE[:2], month="2025-05")
    session.add(CommentCode(comment_id=ids[0], kind=ACCEPTED, code="uncollected-garbage"))
    session.flush()
    run = group_topics(session=session, codebook=codebook, where=TopicFilter(year=2026), k=2)
    assert run.comments == 19
    assert _topic_of(session, [ids[0], *old]) == {None}


def test_an_accepted_topic_codes_its_comments_and_counts_in_trends(
    session: Session, codebook: Codebook, grouped: tuple[list[int], list[int], TopicRun]
) -> None:
    garbage, _, run = grouped
    topic = _topics(session, run)["garbage"]
    before = _codes(session)
    # staff see streets strewn with rubbish, which the rules did not suggest
    code = "dirty-streets"
    lacking = [i for i in garbage if (i, SUGGESTED, code) not in before]
    assert lacking
    # the trends were read before (so their counts are up to date and must follow)
    earlier = top_problems(session=session, codebook=codebook, year=2026)
    assert all(p.code != code or p.count < 10 for p in earlier)
    session.commit()
    assert accept_topic(session=session, topic=topic, code=code, codebook=codebook) == len(lacking)
    session.commit()
    assert _codes(session) == sorted(before + [(i, SUGGESTED, code) for i in lacking])
    assert (topic.status, topic.code, topic.label_en) == ("accepted", code, "Dirty streets")
    problems = top_problems(session=session, codebook=codebook, year=2026)
    garbage_problem = next(p for p in problems if p.code == code)
    assert (garbage_problem.count, garbage_problem.total) == (10, 20)
    # its comments are left out of the next grouping: staff have decided about them
    again = group_topics(session=session, codebook=codebook, k=2)
    assert again.comments == 10
    assert _topic_of(session, garbage) == {topic.id}


def test_rename_merge_and_split_change_the_topics(
    session: Session, codebook: Codebook, grouped: tuple[list[int], list[int], TopicRun]
) -> None:
    garbage, lights, run = grouped
    topics = _topics(session, run)
    rename_topic(
        session=session, topic=topics["lights"], label_zh=" 路灯不亮 ", label_en="Dark streets"
    )
    assert (topics["lights"].label_zh, topics["lights"].label_en) == ("路灯不亮", "Dark streets")

    first, second = split_topic(session=session, topic=topics["garbage"], codebook=codebook)
    session.commit()
    assert topics["garbage"].status == "split"
    assert (first.run_id, second.run_id) == (run.id, run.id)
    assert sorted([first.number, second.number]) == [3, 4]
    assert first.size + second.size == 10
    assert _topic_of(session, garbage) == {first.id, second.id}

    merge_topics(session=session, source=second, into=first, codebook=codebook)
    session.commit()
    assert (second.status, second.merged_into_id, second.size) == ("merged", first.id, 0)
    assert first.size == 10 and _topic_of(session, garbage) == {first.id}
    assert "垃圾" in topic_terms(first)["zh"] and "garbage" in topic_terms(first)["en"]
    standing = run_topics(session=session, run=run)
    assert sorted(t.number for t in standing) == sorted([topics["lights"].number, first.number])
    assert latest_run(session=session) == run
    assert _topic_of(session, lights) == {topics["lights"].id}


def test_what_cannot_be_done_is_refused_and_nothing_changes(
    session: Session, codebook: Codebook, grouped: tuple[list[int], list[int], TopicRun]
) -> None:
    _, _, run = grouped
    topics = _topics(session, run)
    codes = _codes(session)
    other_run = group_topics(session=session, codebook=codebook, k=2)
    session.commit()
    elsewhere = run_topics(session=session, run=other_run)[0]

    with pytest.raises(TopicError) as unknown:
        accept_topic(session=session, topic=topics["garbage"], code="rubbish", codebook=codebook)
    assert unknown.value.text("en") == "There is no code “rubbish” in the codebook."
    assert unknown.value.text("zh") == "编码表中没有编码“rubbish”。"
    with pytest.raises(TopicError) as across:
        merge_topics(session=session, source=topics["garbage"], into=elsewhere, codebook=codebook)
    assert across.value.key == "other_run"
    with pytest.raises(TopicError) as itself:
        merge_topics(session=session, source=elsewhere, into=elsewhere, codebook=codebook)
    assert itself.value.key == "merge_itself"
    for zh, en in [("", "Dark"), ("路灯", "  ")]:
        with pytest.raises(TopicError) as empty:
            rename_topic(session=session, topic=topics["lights"], label_zh=zh, label_en=en)
        assert empty.value.key == "label_required"
    with pytest.raises(TopicError) as bad_k:
        group_topics(session=session, codebook=codebook, k=1)
    assert bad_k.value.key == "bad_k"
    session.rollback()
    assert _codes(session) == codes
    assert [t.status for t in session.scalars(select(Topic))] == ["proposed"] * 4
    assert topics["lights"].label_zh is None
    assert session.scalar(select(TopicRun.id).order_by(TopicRun.id.desc())) == other_run.id

    merge_topics(
        session=session,
        source=elsewhere,
        into=run_topics(session=session, run=other_run)[1],
        codebook=codebook,
    )
    with pytest.raises(TopicError) as gone:
        split_topic(session=session, topic=elsewhere, codebook=codebook)
    assert gone.value.key == "not_proposed"
