"""civic.city._site: the smart assistant's pages, identity types and FAQ, as loaded from the
Hangzhou profile, and the errors a broken site.yml or faq.yml gives."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from civic.city import Site, identity_by_reply, load_site
from civic.errors import ProfileError
from civic.settings import PROJECT_ROOT

HANGZHOU = PROJECT_ROOT / "profiles" / "hangzhou"


@pytest.fixture(scope="module")
def site() -> Site:
    return load_site(HANGZHOU)


def test_hangzhou_has_four_identities_numbered_like_the_greeting(site: Site) -> None:
    assert [(i.number, i.code, i.name["zh"], i.name["en"]) for i in site.identities] == [
        (1, "citizen", "市民", "Citizen"),
        (2, "business", "企业", "Business"),
        (3, "visitor", "来杭人员", "Visitor"),
        (4, "media", "媒体", "Media"),
    ]


def test_each_identity_recommends_three_to_five_pages(site: Site) -> None:
    for identity in site.identities:
        links = site.links(identity)
        assert 3 <= len(links) <= 5, identity.code
        assert all(page.url.startswith("https://kpb.hangzhou.gov.cn/") for page in links)


def test_citizens_are_recommended_the_complaint_page_first(site: Site) -> None:
    citizen = site.identities[0]
    assert site.links(citizen)[0].label("zh") == "我要投诉"
    assert site.links(citizen)[0].label("en") == "File a complaint"


def test_hangzhou_site_has_enough_pages_and_faq(site: Site) -> None:
    assert len(site.pages) >= 45
    assert len(site.faq) >= 20
    for entry in site.faq.values():
        assert len(entry.questions["zh"]) >= 6, entry.key
        assert len(entry.questions["en"]) >= 6, entry.key


def test_faq_entry_names_its_retrieval_intent(site: Site) -> None:
    assert site.faq["privacy_erasure"].intent == "faq/privacy_erasure"
    assert "delete my data" in site.faq["privacy_erasure"].answer["en"]
    assert "删除我的数据" in site.faq["privacy_erasure"].answer["zh"]


def test_scoring_answer_gives_the_scorecard(site: Site) -> None:
    answer = site.faq["how_scoring_works"].answer["en"]
    for part in ("public evaluation and feedback 50", "annual performance targets 45", "5"):
        assert part in answer


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("1", "citizen"),
        ("１", "citizen"),
        (" 1 ", "citizen"),
        ("1.", "citizen"),
        ("1、", "citizen"),
        ("市民", "citizen"),
        ("citizen", "citizen"),
        ("Citizen", "citizen"),
        ("ＣＩＴＩＺＥＮ", "citizen"),
        ("我是市民", "citizen"),
        ("I'm a citizen", "citizen"),
        ("2", "business"),
        ("企业", "business"),
        ("我是一名企业主", "business"),
        ("３", "visitor"),
        ("来杭人员", "visitor"),
        ("Visitor", "visitor"),
        ("【4】", "media"),
        ("媒体", "media"),
        ("I am a journalist", "media"),
        ("I’m a reporter", "media"),
    ],
)
def test_identity_by_reply_understands_numbers_names_and_aliases(
    site: Site, reply: str, expected: str
) -> None:
    identity = identity_by_reply(site, reply)
    assert identity is not None
    assert identity.code == expected


@pytest.mark.parametrize("reply", ["", "   ", "5", "0", "12", "我想投诉", "citizens", "I am"])
def test_identity_by_reply_returns_none_for_anything_else(site: Site, reply: str) -> None:
    assert identity_by_reply(site, reply) is None


# --- broken copies of the profile's files ---------------------------------------------------


def _copy(tmp_path: Path, edit_site: Callable[[dict[str, Any]], None] | None = None) -> Path:
    """A copy of the Hangzhou site.yml and faq.yml in tmp_path, site.yml edited by edit_site."""
    shutil.copy(HANGZHOU / "faq.yml", tmp_path / "faq.yml")
    data = yaml.safe_load((HANGZHOU / "site.yml").read_text(encoding="utf-8"))
    if edit_site:
        edit_site(data)
    (tmp_path / "site.yml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    return tmp_path


def _edit_faq(folder: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    data = yaml.safe_load((folder / "faq.yml").read_text(encoding="utf-8"))
    edit(data)
    (folder / "faq.yml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")


def _page(data: dict[str, Any], key: str) -> dict[str, Any]:
    return next(page for page in data["pages"] if page["key"] == key)


def _faq(data: dict[str, Any], key: str) -> dict[str, Any]:
    return next(entry for entry in data["faq"] if entry["key"] == key)


def _error(folder: Path) -> str:
    with pytest.raises(ProfileError) as caught:
        load_site(folder)
    return str(caught.value)


def test_the_unedited_copy_loads(tmp_path: Path) -> None:
    assert len(load_site(_copy(tmp_path)).pages) == len(load_site(HANGZHOU).pages)


def test_unknown_page_in_identity_links(tmp_path: Path) -> None:
    folder = _copy(tmp_path, lambda d: d["identities"][0]["links"].append("no-such-page"))
    assert _error(folder) == (
        f"{folder / 'site.yml'}: identity 'citizen': unknown page 'no-such-page' in links"
    )


def test_missing_english_title(tmp_path: Path) -> None:
    folder = _copy(tmp_path, lambda d: _page(d, "privacy-policy")["title"].pop("en"))
    assert _error(folder) == (
        f"{folder / 'site.yml'}: page 'privacy-policy': 'title' needs a non-empty 'en' text"
    )


def test_empty_chinese_summary(tmp_path: Path) -> None:
    folder = _copy(tmp_path, lambda d: _page(d, "contact")["summary"].update(zh=" "))
    assert _error(folder) == (
        f"{folder / 'site.yml'}: page 'contact': 'summary' needs a non-empty 'zh' text"
    )


def test_duplicate_page_key(tmp_path: Path) -> None:
    folder = _copy(tmp_path, lambda d: d["pages"].append(dict(_page(d, "open-data"))))
    assert _error(folder) == f"{folder / 'site.yml'}: page 'open-data': duplicate key"


def test_duplicate_identity_number(tmp_path: Path) -> None:
    folder = _copy(tmp_path, lambda d: d["identities"][1].update(number=1))
    assert _error(folder) == f"{folder / 'site.yml'}: identity 'business': duplicate number 1"


def test_identity_alias_that_names_another_identity(tmp_path: Path) -> None:
    folder = _copy(tmp_path, lambda d: d["identities"][3]["aliases"].append("市民"))
    assert _error(folder) == (
        f"{folder / 'site.yml'}: identity 'media': '市民' also names identity 'citizen'"
    )


def test_unquoted_comma_in_a_flow_mapping_is_caught(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    text = (folder / "site.yml").read_text(encoding="utf-8")
    broken = text.replace(
        "pages:\n",
        "pages:\n- {key: broken, url: 'https://kpb.hangzhou.gov.cn/x/',\n"
        "   section: {zh: 甲, en: A}, title: {zh: 乙, en: B},\n"
        "   summary: {zh: 一句话,另一句, en: C}, keywords: {zh: [丙], en: [d]}}\n",
        1,
    )
    (folder / "site.yml").write_text(broken, encoding="utf-8")
    assert _error(folder) == (
        f"{folder / 'site.yml'}: page 'broken': 'summary' has unexpected key '另一句' "
        "(unquoted comma?)"
    )


def test_faq_with_a_single_english_question(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    _edit_faq(
        folder, lambda d: _faq(d, "office_hours")["questions"].update(en=["how do I opt out"])
    )
    assert _error(folder) == (
        f"{folder / 'faq.yml'}: faq 'office_hours': 'questions' needs at least 2 'en' entries"
    )


def test_faq_question_in_two_entries(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    _edit_faq(folder, lambda d: _faq(d, "office_hours")["questions"]["zh"].append("可以匿名投诉吗"))
    assert _error(folder) == (
        f"{folder / 'faq.yml'}: faq 'anonymous_complaint': question '可以匿名投诉吗' "
        "is also in entry 'office_hours'"
    )


def test_faq_missing_english_answer(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    _edit_faq(folder, lambda d: _faq(d, "districts")["answer"].pop("en"))
    assert _error(folder) == (
        f"{folder / 'faq.yml'}: faq 'districts': 'answer' needs a non-empty 'en' text"
    )


def test_faq_key_must_be_snake_case(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    _edit_faq(folder, lambda d: _faq(d, "districts").update(key="Districts-List"))
    index = list(load_site(HANGZHOU).faq).index("districts")
    assert _error(folder) == (
        f"{folder / 'faq.yml'}: faq[{index}]: key 'Districts-List' must be lower-case words "
        "joined by '_'"
    )


def test_missing_faq_file(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    (folder / "faq.yml").unlink()
    assert _error(folder) == f"{folder / 'faq.yml'}: file is missing"
