"""The smart assistant's knowledge: the evaluation office's website pages, the identity types
it recommends pages for, and the questions it answers (`site.yml` and `faq.yml` of a profile).

Like the rest of a profile, both files are validated on load and an error names the file and
the entry at fault.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from civic.city._profiles import _Reader
from civic.i18n import LANGUAGES, localised

# What people put around a bare identity answer: "我是市民", "I'm a citizen", "1." or "【1】".
_REPLY_PREFIX = re.compile(r"^(?:我是(?:一[名个位]|个)?|(?:i am|i'm|im)(?:\s+an?)?\s+)")
_REPLY_EDGES = " \t\r\n.,;:!?()[]\"'\u3001\u3002\u3010\u3011\u300c\u300d\u201c\u201d\u2018\u2019"
MIN_QUESTIONS = 2


@dataclass(frozen=True)
class Identity:
    number: int
    code: str
    name: dict[str, str]
    aliases: tuple[str, ...]
    links: tuple[str, ...]

    def label(self, lang: str | None) -> str:
        return localised(self.name, lang)


@dataclass(frozen=True)
class Page:
    key: str
    url: str
    section: dict[str, str]
    title: dict[str, str]
    summary: dict[str, str]
    keywords: dict[str, tuple[str, ...]]

    def label(self, lang: str | None) -> str:
        return localised(self.title, lang)


@dataclass(frozen=True)
class FaqEntry:
    key: str
    questions: dict[str, tuple[str, ...]]
    answer: dict[str, str]

    @property
    def intent(self) -> str:
        """The retrieval intent of Rasa's ResponseSelector that stands for this entry."""
        return f"faq/{self.key}"


@dataclass(frozen=True)
class Site:
    identities: tuple[Identity, ...]
    pages: dict[str, Page]
    faq: dict[str, FaqEntry]

    def links(self, identity: Identity) -> list[Page]:
        return [self.pages[key] for key in identity.links]


def _key(reader: _Reader, item: dict[str, Any], entry: str, joiner: str) -> str:
    """The entry's key: lower-case words and digits joined by `joiner` ('-' or '_')."""
    key = str(reader.required(item, "key", entry))
    if not re.fullmatch(rf"[a-z0-9]+(?:{joiner}[a-z0-9]+)*", key):
        raise reader.fail(entry, f"key '{key}' must be lower-case words joined by '{joiner}'")
    return key


def _texts(reader: _Reader, item: dict[str, Any], key: str, entry: str) -> dict[str, str]:
    """Like `_Reader.texts`, but a key other than zh/en is an error: in a flow mapping an
    unquoted comma ({zh: 甲,乙, en: ...}) silently cuts the text and adds such a key."""
    texts = reader.texts(item, key, entry)
    extra = sorted(str(k) for k in item[key] if k not in LANGUAGES)
    if extra:
        raise reader.fail(entry, f"'{key}' has unexpected key '{extra[0]}' (unquoted comma?)")
    return texts


def _word_lists(
    reader: _Reader, item: dict[str, Any], key: str, entry: str, minimum: int
) -> dict[str, tuple[str, ...]]:
    """A {zh: [...], en: [...]} mapping of non-empty strings, `minimum` or more per language."""
    value = reader.mapping(item.get(key) or {}, f"{entry}.{key}")
    lists: dict[str, tuple[str, ...]] = {}
    for lang in LANGUAGES:
        words = value.get(lang) or []
        if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
            raise reader.fail(entry, f"'{key}.{lang}' must be a list of non-empty texts")
        if len(words) < minimum:
            raise reader.fail(entry, f"'{key}' needs at least {minimum} '{lang}' entries")
        lists[lang] = tuple(w.strip() for w in words)
    return lists


def _load_pages(reader: _Reader, data: Any) -> dict[str, Page]:
    pages: dict[str, Page] = {}
    for i, item in enumerate(reader.items(data, "pages")):
        key = _key(reader, item, f"pages[{i}]", "-")
        entry = f"page '{key}'"
        if key in pages:
            raise reader.fail(entry, "duplicate key")
        url = str(reader.required(item, "url", entry))
        if not url.startswith("https://"):
            raise reader.fail(entry, "'url' must start with https://")
        pages[key] = Page(
            key=key,
            url=url,
            section=_texts(reader, item, "section", entry),
            title=_texts(reader, item, "title", entry),
            summary=_texts(reader, item, "summary", entry),
            keywords=_word_lists(reader, item, "keywords", entry, 1),
        )
    return pages


def _load_identities(reader: _Reader, data: Any, pages: dict[str, Page]) -> tuple[Identity, ...]:
    identities: list[Identity] = []
    for i, item in enumerate(reader.items(data, "identities")):
        code = str(reader.required(item, "code", f"identities[{i}]"))
        entry = f"identity '{code}'"
        number = item.get("number")
        if not isinstance(number, int) or isinstance(number, bool) or number <= 0:
            raise reader.fail(entry, "'number' must be a positive whole number")
        if any(other.code == code for other in identities):
            raise reader.fail(entry, "duplicate code")
        if any(other.number == number for other in identities):
            raise reader.fail(entry, f"duplicate number {number}")
        links = item.get("links")
        if not isinstance(links, list) or not links:
            raise reader.fail(entry, "'links' must be a non-empty list of page keys")
        for link in links:
            if link not in pages:
                raise reader.fail(entry, f"unknown page '{link}' in links")
        identities.append(
            Identity(
                number=number,
                code=code,
                name=_texts(reader, item, "name", entry),
                aliases=tuple(str(a) for a in item.get("aliases") or []),
                links=tuple(links),
            )
        )
    _check_replies(reader, identities)
    return tuple(sorted(identities, key=lambda identity: identity.number))


def _replies(identity: Identity) -> set[str]:
    """Every answer that picks this identity, normalised."""
    names = {str(identity.number), identity.code, *identity.name.values(), *identity.aliases}
    return {_normalise(name) for name in names}


def _check_replies(reader: _Reader, identities: list[Identity]) -> None:
    owner: dict[str, str] = {}
    for identity in identities:
        for reply in _replies(identity):
            other = owner.setdefault(reply, identity.code)
            if other != identity.code:
                raise reader.fail(
                    f"identity '{identity.code}'", f"'{reply}' also names identity '{other}'"
                )


def _load_faq(path: Path) -> dict[str, FaqEntry]:
    reader = _Reader(path)
    faq: dict[str, FaqEntry] = {}
    seen: dict[str, str] = {}  # normalised question -> the entry that has it
    for i, item in enumerate(reader.items(reader.load(), "faq")):
        key = _key(reader, item, f"faq[{i}]", "_")
        entry = f"faq '{key}'"
        if key in faq:
            raise reader.fail(entry, "duplicate key")
        questions = _word_lists(reader, item, "questions", entry, MIN_QUESTIONS)
        for question in (q for qs in questions.values() for q in qs):
            other = seen.get(_normalise(question))
            if other is not None:
                where = "this entry" if other == key else f"entry '{other}'"
                raise reader.fail(entry, f"question '{question}' is also in {where}")
            seen[_normalise(question)] = key
        faq[key] = FaqEntry(
            key=key, questions=questions, answer=_texts(reader, item, "answer", entry)
        )
    return faq


def load_site(profile_dir: Path) -> Site:
    """Load and validate `site.yml` and `faq.yml` of the profile in `profile_dir`."""
    reader = _Reader(profile_dir / "site.yml")
    data = reader.load()
    pages = _load_pages(reader, data)
    return Site(
        identities=_load_identities(reader, data, pages),
        pages=pages,
        faq=_load_faq(profile_dir / "faq.yml"),
    )


def _normalise(text: str) -> str:
    """Full-width to half-width ("１" -> "1"), case-folded, inner spaces squeezed."""
    text = unicodedata.normalize("NFKC", text).replace("’", "'")
    return " ".join(text.casefold().split())


def identity_by_reply(site: Site, text: str) -> Identity | None:
    """The identity a reply to "请问您是:" names: its number ("1", "１", "1."), its name in
    either language, its code or an alias, with or without "我是" / "I'm a"."""
    reply = _normalise(text).strip(_REPLY_EDGES)
    reply = _REPLY_PREFIX.sub("", reply).strip(_REPLY_EDGES)
    if not reply:
        return None
    return next((identity for identity in site.identities if reply in _replies(identity)), None)
