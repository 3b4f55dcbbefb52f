"""Telegram's HTML ``parse_mode`` and automatic entity detection, for the Bot API stand-in.

``parse_html`` follows tdlib's ``parse_html`` (the code behind the real Bot API server): the same
tags (b strong i em u ins s strike del span class="tg-spoiler" tg-spoiler a code pre blockquote
tg-emoji), the same nesting rules, the same entity decoding (``&lt; &gt; &amp; &quot;`` and
numeric references) and the same error wording, e.g. ``Unsupported start tag "div" at byte
offset 3`` (the stand-in prefixes ``Bad Request: can't parse entities: ``).  Offsets and lengths
of the returned entities are in UTF-16 code units, as in real ``MessageEntity`` objects.

One deliberate deviation: with ``strict_ampersand=True`` a bare ``&`` that does not start an
entity is an error.  The real server keeps it as a literal ``&``; pass ``strict_ampersand=False``
to get exactly that.

``find_auto_entities`` approximates the server's detection of bot_command, mention, hashtag, url
and email entities in plain text (what makes ``CommandHandler`` see ``/start``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SIMPLE_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
ALLOWED_TAGS = frozenset(_SIMPLE_TYPES) | {"a", "tg-emoji", "pre", "code", "blockquote"}
_NAMED_ENTITIES = {b"lt": "<", b"gt": ">", b"amp": "&", b"quot": '"'}
_SPACES = frozenset(b" \t\r\n\x0b\x0c\x00")  # tdlib's is_space(); NUL ends the buffer
_PRIORITY = {
    "blockquote": 0,
    "expandable_blockquote": 0,
    "pre": 11,
    "code": 20,
    "text_link": 49,
    "text_mention": 49,
    "bold": 90,
    "italic": 91,
    "underline": 92,
    "strikethrough": 93,
    "spoiler": 94,
    "custom_emoji": 99,
}
_TRIM = " \t\n\r\x0b\x0c"


class HtmlParseError(ValueError):
    """The text is not valid Telegram HTML; ``str(err)`` is the server's message."""


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (the unit of entity offsets)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _decode_entity(src: bytes, pos: int) -> tuple[str, int] | None:
    """Decode the HTML entity starting at ``src[pos] == '&'``: ``(char, next_pos)`` or None."""
    end = pos + 1
    if src[end] == ord("#"):
        end += 1
        base = 10
        if src[end] == ord("x"):
            base, end = 16, end + 1
        digits = "0123456789abcdefABCDEF" if base == 16 else "0123456789"
        start = end
        while chr(src[end]) in digits and src[end]:
            end += 1
        code = int(src[start:end], base) if end > start and end - pos < 10 else 0
        if code == 0 or code >= 0x10FFFF:
            return None
        char = chr(code)
    else:
        while chr(src[end]).isascii() and chr(src[end]).isalpha():
            end += 1
        named = _NAMED_ENTITIES.get(src[pos + 1 : end])
        if named is None:
            return None
        char = named
    return char, end + 1 if src[end] == ord(";") else end


@dataclass
class _OpenTag:
    tag: str
    argument: str
    utf16_offset: int
    out_pos: int


class _HtmlParser:
    """Single pass over the UTF-8 bytes (NUL-terminated, like tdlib's buffer)."""

    def __init__(self, text: str, strict_ampersand: bool) -> None:
        self.src = text.encode("utf-8", "surrogatepass") + b"\0"
        self.end = len(self.src) - 1
        self.strict = strict_ampersand
        self.out = bytearray()
        self.u16 = 0
        self.open: list[_OpenTag] = []
        self.entities: list[dict] = []

    def parse(self) -> tuple[str, list[dict]]:
        i = 0
        while i < self.end:
            c = self.src[i]
            if c == ord("&"):
                decoded = _decode_entity(self.src, i)
                if decoded is not None:
                    self._emit(decoded[0])
                    i = decoded[1]
                    continue
                if self.strict:
                    raise HtmlParseError(
                        f'Character "&" at byte offset {i} does not start an '
                        "entity; escape it as &amp;"
                    )
            if c != ord("<"):
                self.out.append(c)
                if c & 0xC0 != 0x80:  # first byte of a UTF-8 sequence
                    self.u16 += 2 if c >= 0xF0 else 1
                i += 1
            elif self.src[i + 1] == ord("/"):
                i = self._end_tag(i)
            else:
                i = self._start_tag(i)
        if self.open:
            raise HtmlParseError(
                f"Can't find end tag corresponding to start tag {self.open[-1].tag}"
            )
        return self._text(), self.entities

    def _emit(self, char: str) -> None:
        self.out += char.encode("utf-8", "surrogatepass")
        self.u16 += 2 if ord(char) > 0xFFFF else 1

    def _text(self) -> str:
        raw = self.out.decode("utf-8", "surrogatepass")
        try:  # pairs up surrogates given as two numeric references, rejects lone ones
            return raw.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
        except UnicodeDecodeError:
            raise HtmlParseError(
                "Text contains invalid Unicode characters after decoding HTML entities, check "
                "for unmatched surrogate code units"
            ) from None

    def _skip_spaces(self, i: int) -> int:
        while self.src[i] and self.src[i] in _SPACES:
            i += 1
        return i

    def _start_tag(self, begin: int) -> int:
        src, i = self.src, begin + 1
        while src[i] not in _SPACES and src[i] != ord(">"):
            i += 1
        if i >= self.end:
            raise HtmlParseError(f"Unclosed start tag at byte offset {begin}")
        tag = src[begin + 1 : i].decode("utf-8", "replace").lower()
        if tag not in ALLOWED_TAGS:
            raise HtmlParseError(f'Unsupported start tag "{tag}" at byte offset {begin}')
        argument = ""
        while src[i] != ord(">"):
            i = self._skip_spaces(i)
            if src[i] == ord(">"):
                break
            i, name, value = self._attribute(tag, begin, i)
            argument = _tag_argument(tag, name, value, argument)
        if tag == "span" and argument != "spoiler":
            raise HtmlParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
        self.open.append(_OpenTag(tag, argument, self.u16, len(self.out)))
        return i + 1

    def _attribute(self, tag: str, begin: int, i: int) -> tuple[int, str, str | None]:
        src, start = self.src, i
        while src[i] not in _SPACES and src[i] not in b"=>":
            i += 1
        name = src[start:i].decode("utf-8", "replace")
        if not name:
            raise HtmlParseError(f'Empty attribute name in the tag "{tag}" at byte offset {begin}')
        i = self._skip_spaces(i)
        if src[i] != ord("="):
            if tag == "blockquote" and name == "expandable":
                return i, name, None
            raise HtmlParseError(
                "Expected equal sign in declaration of an attribute of the "
                f'tag "{tag}" at byte offset {begin}'
            )
        i = self._skip_spaces(i + 1)
        if i >= self.end:
            raise HtmlParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
        if src[i] in b"'\"":
            i, value = self._quoted_value(i)
        else:  # a name token: letters, digits, periods and hyphens, case-insensitive
            start = i
            while chr(src[i]).isascii() and (chr(src[i]).isalnum() or src[i] in b".-"):
                i += 1
            value = src[start:i].decode().lower()
            if src[i] not in _SPACES and src[i] != ord(">"):
                raise HtmlParseError(f"Unexpected end of name token at byte offset {start}")
        if i >= self.end:
            raise HtmlParseError(f"Unclosed start tag at byte offset {begin}")
        return i, name, value

    def _quoted_value(self, i: int) -> tuple[int, str]:
        src, quote, value = self.src, self.src[i], bytearray()
        i += 1
        while src[i] != quote and i < self.end:
            decoded = _decode_entity(src, i) if src[i] == ord("&") else None
            if decoded is not None:
                value += decoded[0].encode("utf-8", "surrogatepass")
                i = decoded[1]
            else:
                value.append(src[i])
                i += 1
        if src[i] == quote:
            i += 1
        return i, value.decode("utf-8", "replace")

    def _end_tag(self, begin: int) -> int:
        if not self.open:
            raise HtmlParseError(f"Unexpected end tag at byte offset {begin}")
        src, i = self.src, begin + 2
        while src[i] not in _SPACES and src[i] != ord(">"):
            i += 1
        name = src[begin + 2 : i].decode("utf-8", "replace").lower()
        i = self._skip_spaces(i)
        if src[i] != ord(">"):
            raise HtmlParseError(f"Unclosed end tag at byte offset {begin}")
        opened = self.open[-1]
        if name and name != opened.tag:
            raise HtmlParseError(
                f"Unmatched end tag at byte offset {begin}, expected "
                f'"</{opened.tag}>", found "</{name}>"'
            )
        if self.u16 > opened.utf16_offset:
            self._close(opened)
        self.open.pop()
        return i + 1

    def _close(self, opened: _OpenTag) -> None:
        offset, length = opened.utf16_offset, self.u16 - opened.utf16_offset
        entity: dict = {"offset": offset, "length": length}
        last = self.entities[-1] if self.entities else {}
        same_span = (last.get("offset"), last.get("length")) == (offset, length)
        if opened.tag in _SIMPLE_TYPES:
            entity["type"] = _SIMPLE_TYPES[opened.tag]
        elif opened.tag == "tg-emoji":
            if not opened.argument.isdigit() or int(opened.argument) == 0:
                raise HtmlParseError("Invalid custom emoji identifier specified")
            entity.update(type="custom_emoji", custom_emoji_id=opened.argument)
        elif opened.tag == "a":
            url = opened.argument or self.out[opened.out_pos :].decode("utf-8", "replace")
            if not self._link(entity, url):
                return  # invalid links are silently dropped, as by the real server
        elif opened.tag == "blockquote":
            entity["type"] = "expandable_blockquote" if opened.argument else "blockquote"
        elif opened.tag == "pre":
            if same_span and last["type"] == "code" and last.get("language"):
                last["type"] = "pre"
                return
            entity["type"] = "pre"
        else:  # code
            if same_span and last["type"] == "pre" and opened.argument:
                last["language"] = opened.argument
                return
            entity["type"] = "code"
            if opened.argument:
                entity["language"] = opened.argument  # kept only if it becomes a pre
        self.entities.append(entity)

    @staticmethod
    def _link(entity: dict, url: str) -> bool:
        user = re.fullmatch(r"tg://user\?id=(\d+)", url)
        if user:
            entity.update(
                type="text_mention",
                user={"id": int(user.group(1)), "is_bot": False, "first_name": ""},
            )
            return True
        if not re.match(r"^(?:(?:https?|tg|ton)://)?[^\s/:]+[^\s]*$", url) or " " in url:
            return False
        if "://" not in url:
            url = "http://" + url + ("/" if "/" not in url else "")
        entity.update(type="text_link", url=url)
        return True


def _tag_argument(tag: str, name: str, value: str | None, current: str) -> str:
    """The attribute that matters for each tag (href, language, spoiler class, emoji id)."""
    if tag == "a" and name == "href":
        return value or ""
    if tag == "code" and name == "class" and value and value.startswith("language-"):
        return value[len("language-") :]
    if tag == "span" and name == "class" and value and value.startswith("tg-"):
        return value[len("tg-") :]
    if tag == "tg-emoji" and name == "emoji-id":
        return value or ""
    if tag == "blockquote" and name == "expandable":
        return "1"
    return current


def _sort_key(entity: dict) -> tuple[int, int, int]:
    return entity["offset"], -entity["length"], _PRIORITY.get(entity["type"], 50)


def parse_html(text: str, *, strict_ampersand: bool = True) -> tuple[str, list[dict]]:
    """Parse Telegram HTML into ``(plain_text, entities)``; raise HtmlParseError if invalid."""
    plain, entities = _HtmlParser(text, strict_ampersand).parse()
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)
    return plain, sorted(entities, key=_sort_key)


def trim(text: str, entities: list[dict]) -> tuple[str, list[dict]]:
    """Strip leading/trailing whitespace like the server does, shifting and clipping entities."""
    stripped = text.strip(_TRIM)
    if not stripped:
        return "", []
    shift = utf16_len(text[: len(text) - len(text.lstrip(_TRIM))])
    limit = utf16_len(stripped)
    result = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, limit)
        if end > start:
            result.append({**entity, "offset": start, "length": end - start})
    return stripped, result


_AUTO_PATTERNS = [
    ("url", re.compile(r"\bhttps?://[^\s<>\"]+[^\s<>\".,;:!?)\]'}]")),
    (
        "email",
        re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"),
    ),
    (
        "bot_command",
        re.compile(r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])"),
    ),
    ("mention", re.compile(r"(?<!\w)@[A-Za-z0-9_]{4,32}(?!\w)")),
    ("hashtag", re.compile(r"(?<!\w)#\w*[^\W\d_]\w*")),
]
_NO_AUTO_INSIDE = {"code", "pre", "text_link", "text_mention", "custom_emoji"}


def find_auto_entities(text: str, existing: list[dict] | None = None) -> list[dict]:
    """Entities the server detects by itself in ``text``, merged into ``existing``."""
    existing = list(existing or [])
    taken = [
        (e["offset"], e["offset"] + e["length"]) for e in existing if e["type"] in _NO_AUTO_INSIDE
    ]
    found: list[dict] = []
    for kind, pattern in _AUTO_PATTERNS:
        for match in pattern.finditer(text):
            start = utf16_len(text[: match.start()])
            end = start + utf16_len(match.group())
            if any(start < b and a < end for a, b in taken):
                continue
            taken.append((start, end))
            found.append({"type": kind, "offset": start, "length": end - start})
    return sorted(existing + found, key=_sort_key)
