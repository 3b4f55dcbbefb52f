"""Reading a survey's YAML with the line of every entry, so each error names file and line."""

from __future__ import annotations

import re
from collections.abc import Collection, Hashable
from typing import Any

import yaml

from civic.errors import ProfileError
from civic.i18n import LANGUAGES

_BOOL_TAG = "tag:yaml.org,2002:bool"
_PLACEHOLDER = re.compile(r"\{(\w*)\}")


class SurveyError(ProfileError):
    """A survey definition is wrong; `source` is its file (or upload) and `line` is 1-based."""

    def __init__(self, source: str, line: int, message: str) -> None:
        super().__init__(f"{source}:{line}: {message}")
        self.source = source
        self.line = line
        self.message = message


class Node(dict[Any, Any]):
    """A YAML mapping that remembers its own line and the line of each key."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[Any, int] = {}

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class Seq(list[Any]):
    """A YAML sequence that remembers its own line and the line of each item."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []


class _Loader(yaml.SafeLoader):
    pass


# YAML 1.1 reads yes/no/on/off as booleans; an option coded `no` must stay a code.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> Node:
    loader.flatten_mapping(node)
    result = Node(node.start_mark.line + 1)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, Hashable) or isinstance(key, Node | Seq):
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be plain text", key_node.start_mark
            )
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> Seq:
    result = Seq(node.start_mark.line + 1)
    for item in node.value:
        result.append(loader.construct_object(item, deep=True))
        result.item_lines.append(item.start_mark.line + 1)
    return result


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


def read_yaml(text: str, source: str) -> Any:
    """The YAML document in `text`, with mappings as `Node` and sequences as `Seq`."""
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader: builds plain data only
    except yaml.MarkedYAMLError as exc:
        raise SurveyError(source, *_yaml_problem(exc)) from exc
    except yaml.YAMLError as exc:
        raise SurveyError(source, 1, f"not valid YAML: {exc}") from exc


def _yaml_problem(exc: yaml.MarkedYAMLError) -> tuple[int, str]:
    """The line and message of a YAML syntax error, and where the broken part began."""
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else 1
    message = f"not valid YAML: {exc.problem or exc.context or 'unreadable'}"
    context = exc.context_mark
    if exc.problem and exc.context and context and context.line + 1 != line:
        message += f" ({exc.context} on line {context.line + 1})"
    return line, message


class Reader:
    """Checks the shape of one survey's data and reports errors at their line."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, line: int, message: str) -> SurveyError:
        return SurveyError(self.source, line, message)

    def mapping(self, value: Any, line: int, what: str) -> Node:
        if not isinstance(value, Node):
            raise self.fail(line, f"{what}: expected a mapping, got {_kind(value)}")
        return value

    def sequence(self, node: Node, key: str, what: str) -> Seq:
        value = node.get(key)
        if not isinstance(value, Seq) or not value:
            raise self.fail(node.line_of(key), f"{what}: '{key}' must be a non-empty list")
        return value

    def only(self, node: Node, allowed: Collection[str], what: str) -> None:
        for key in node:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                raise self.fail(
                    node.line_of(key), f"{what}: unknown entry '{key}' (known: {known})"
                )

    def word(self, node: Node, key: str, what: str, pattern: re.Pattern[str]) -> str:
        """A code or id: text (or a whole number) matching `pattern`."""
        value = node.get(key)
        if value is None or value == "":
            raise self.fail(node.line, f"{what}: '{key}' is required")
        return self.code(value, node.line_of(key), f"{what}: '{key}'", pattern)

    def code(self, value: Any, line: int, what: str, pattern: re.Pattern[str]) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.fail(line, f"{what} must be text, got {_kind(value)}")
        if not pattern.fullmatch(str(value)):
            raise self.fail(line, f"{what} {str(value)!r} must match {pattern.pattern}")
        return str(value)

    def flag(self, node: Node, key: str, what: str) -> bool:
        value = node.get(key, False)
        if not isinstance(value, bool):
            raise self.fail(node.line_of(key), f"{what}: '{key}' must be true or false")
        return value

    def texts(
        self, node: Node, key: str, what: str, placeholders: Collection[str] = ()
    ) -> dict[str, str]:
        """A {zh, en} text; `placeholders` are the {names} it may use, the same in both."""
        if key not in node:
            raise self.fail(node.line, f"{what}: '{key}' is required, in zh and en")
        value = self.mapping(node[key], node.line_of(key), f"{what}: '{key}'")
        self.only(value, LANGUAGES, f"{what}: '{key}'")
        found: dict[str, set[str]] = {}
        for lang in LANGUAGES:
            text = value.get(lang)
            if not isinstance(text, str) or not text.strip():
                line = value.line_of(lang) if lang in value else node.line_of(key)
                raise self.fail(line, f"{what}: '{key}' needs a non-empty {lang} text")
            found[lang] = set(_PLACEHOLDER.findall(text))
            unknown = found[lang] - set(placeholders)
            if unknown:
                allowed = ", ".join(f"{{{p}}}" for p in sorted(placeholders)) or "none"
                bad = f"{{{sorted(unknown)[0]}}}"
                raise self.fail(
                    value.line_of(lang),
                    f"{what}: '{key}' ({lang}) uses {bad}, which has no meaning here"
                    f" (placeholders allowed here: {allowed})",
                )
        if found["zh"] != found["en"]:
            raise self.fail(value.line, f"{what}: '{key}' uses different placeholders in zh and en")
        return {lang: value[lang] for lang in LANGUAGES}


def _kind(value: Any) -> str:
    if isinstance(value, Node):
        return "a mapping"
    if isinstance(value, Seq):
        return "a list"
    if value is None:
        return "nothing"
    return f"{type(value).__name__} {value!r}"
