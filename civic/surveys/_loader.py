"""Building a `Survey` from YAML, rejecting anything a respondent could trip over.

Every error is a `SurveyError` naming the file (or upload) and the line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Set
from pathlib import Path
from typing import Any

from civic.city import Agency
from civic.surveys._model import (
    ASSIGNED,
    BUILT_IN_SCALES,
    CHOICE,
    DEFAULT_POST_STRATA,
    DONT_KNOW,
    QUESTION_TYPES,
    AgencyBlock,
    Condition,
    Item,
    Option,
    Question,
    Scale,
    Survey,
)
from civic.surveys._references import check_references
from civic.surveys._source import Node, Reader, Seq, SurveyError, read_yaml

Agencies = Mapping[str, Agency] | Set[str]

KEY = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
QUESTION_ID = re.compile(r"[a-z][a-z0-9_]{0,63}")
OPTION_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
# A post-stratum is a column of the sample frame (civic.campaigns._registry.COLUMN_NAME).
ATTRIBUTE = re.compile(r"[a-z][a-z0-9_]{0,31}")

_SURVEY_KEYS = (
    "key",
    "title",
    "intro",
    "thanks",
    "minutes",
    "results_url",
    "dont_know",
    "post_strata",
)
_QUESTION_KEYS = ("id", "type", "text", "options", "scale", "skip", "dont_know", "show_if")
_BLOCK_KEYS = ("agencies_from", "agencies", "choose", "questions")
_CHOOSE_KEYS = ("id", "text", "skip", "dont_know", "show_if")
_NUMBERED = {"rating": range(1, 6), "nps": range(11)}


def parse_survey(text: str, *, source: str, agencies: Agencies) -> Survey:
    """The survey defined by YAML `text`; `source` names it in errors (a file name)."""
    return _parse(text, source, agencies)[0]


def load_survey(path: Path, *, agencies: Agencies) -> Survey:
    return parse_survey(_read_text(path), source=str(path), agencies=agencies)


def load_surveys(directory: Path, *, agencies: Agencies) -> dict[str, Survey]:
    """Every `*.yml` survey in `directory` by key; {} when there is no such directory."""
    surveys: dict[str, Survey] = {}
    files: dict[str, Path] = {}
    if not directory.is_dir():
        return surveys
    for path in sorted(directory.glob("*.yml")):
        survey, key_line = _parse(_read_text(path), str(path), agencies)
        if survey.key in surveys:
            raise SurveyError(
                str(path), key_line, f"key '{survey.key}' is already used by {files[survey.key]}"
            )
        surveys[survey.key] = survey
        files[survey.key] = path
    return surveys


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SurveyError(str(path), 1, f"cannot be read: {exc}") from exc


def _parse(text: str, source: str, agencies: Agencies) -> tuple[Survey, int]:
    reader = Reader(source)
    top = reader.mapping(read_yaml(text, source), 1, "the survey")
    what = "the survey"
    reader.only(top, (*_SURVEY_KEYS, "scales", "questions"), what)
    key = reader.word(top, "key", what, KEY)
    minutes = top.get("minutes")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes <= 0:
        raise reader.fail(top.line_of("minutes"), "'minutes' must be a positive whole number")
    results_url = top.get("results_url")
    if not isinstance(results_url, str) or not results_url.strip():
        raise reader.fail(top.line_of("results_url"), "'results_url' is required")
    builder = _Builder(reader, _scales(reader, top), agencies)
    items = builder.items(reader.sequence(top, "questions", what))
    check_references(reader, items)
    survey = Survey(
        key=key,
        minutes=minutes,
        results_url=results_url.strip(),
        items=items,
        agency_names=builder.names,
        post_strata=_post_strata(reader, top),
        **_survey_texts(reader, top),
    )
    return survey, top.line_of("key")


def _post_strata(reader: Reader, top: Node) -> tuple[str, ...]:
    if "post_strata" not in top:
        return DEFAULT_POST_STRATA
    entries = reader.sequence(top, "post_strata", "the survey")
    names: list[str] = []
    for name, line in zip(entries, entries.item_lines, strict=True):
        name = reader.code(name, line, "a post-stratum", ATTRIBUTE)
        if name in names:
            raise reader.fail(line, f"post-stratum '{name}' is listed twice")
        names.append(name)
    return tuple(names)


def _survey_texts(reader: Reader, top: Node) -> dict[str, Any]:
    what = "the survey"
    placeholders = ("minutes", "results_url")
    texts: dict[str, Any] = {
        "title": reader.texts(top, "title", what),
        "intro": reader.texts(top, "intro", what, placeholders),
        "thanks": reader.texts(top, "thanks", what, placeholders),
    }
    if "{results_url}" not in texts["thanks"]["zh"]:
        raise reader.fail(
            top.line_of("thanks"),
            "'thanks' must say where the results are published: put {results_url} in it",
        )
    if "dont_know" in top:
        texts["dont_know_label"] = reader.texts(top, "dont_know", what)
    return texts


def _scales(reader: Reader, top: Node) -> dict[str, Scale]:
    scales = dict(BUILT_IN_SCALES)
    if "scales" not in top:
        return scales
    entries = reader.mapping(top["scales"], top.line_of("scales"), "'scales'")
    for name, entry in entries.items():
        line = entries.line_of(name)
        name = reader.code(name, line, "a scale name", QUESTION_ID)
        what = f'scale "{name}"'
        entry = reader.mapping(entry, line, what)
        if name in BUILT_IN_SCALES:
            reader.only(entry, ("scores",), f"{what} (built in: only its scores can change)")
            scales[name] = _rescored(reader, scales[name], entry, what)
        elif "options" not in entry:
            built_in = ", ".join(BUILT_IN_SCALES)
            raise reader.fail(
                line, f"{what} is not a built-in scale ({built_in}): define its 'options'"
            )
        else:
            reader.only(entry, ("options",), what)
            scales[name] = Scale(name, _options(reader, entry, what, scored=True))
    return scales


def _rescored(reader: Reader, scale: Scale, entry: Node, what: str) -> Scale:
    scores = reader.mapping(entry.get("scores"), entry.line_of("scores"), f"{what}: 'scores'")
    codes = [option.code for option in scale.options]
    for code in scores:
        if code not in codes:
            raise reader.fail(
                scores.line_of(code), f"{what} has no option '{code}' (it has {', '.join(codes)})"
            )
    options = tuple(
        Option(o.code, o.label, _score(reader, scores, o.code, what)) if o.code in scores else o
        for o in scale.options
    )
    return Scale(scale.name, options)


def _score(reader: Reader, node: Node, key: str, what: str) -> float | None:
    value = node.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise reader.fail(node.line_of(key), f"{what}: the score must be a number or null")
    return float(value)


def _options(reader: Reader, node: Node, what: str, *, scored: bool) -> tuple[Option, ...]:
    items = reader.sequence(node, "options", what)
    if len(items) < 2:
        raise reader.fail(items.line, f"{what}: give at least two options")
    options: list[Option] = []
    for item, line in zip(items, items.item_lines, strict=True):
        entry = reader.mapping(item, line, f"{what}: an option")
        reader.only(entry, ("code", "label", "score") if scored else ("code", "label"), what)
        code = reader.word(entry, "code", f"{what}: an option", OPTION_CODE)
        where = f"{what}: option '{code}'"
        if any(option.code == code for option in options):
            raise reader.fail(entry.line_of("code"), f"{where} is listed twice")
        if scored and "score" not in entry:
            raise reader.fail(line, f"{where} needs a 'score' (a number, or null to leave it out)")
        score = _score(reader, entry, "score", where) if scored else None
        options.append(Option(code, reader.texts(entry, "label", where), score))
    return tuple(options)


class _Builder:
    """Turns the `questions` list into questions and agency blocks."""

    def __init__(self, reader: Reader, scales: dict[str, Scale], agencies: Agencies) -> None:
        self.reader = reader
        self.scales = scales
        self.agencies = agencies
        self.names: dict[str, dict[str, str]] = {}
        if isinstance(agencies, Mapping):
            self.names = {code: dict(agency.name) for code, agency in agencies.items()}

    def items(self, entries: Seq) -> tuple[Item, ...]:
        items: list[Item] = []
        for entry, line in zip(entries, entries.item_lines, strict=True):
            node = self.reader.mapping(entry, line, "an entry of 'questions'")
            if "agency_block" in node:
                self.reader.only(node, ("agency_block",), "an agency block")
                items.append(self.block(node["agency_block"], node.line_of("agency_block")))
            else:
                items.append(self.question(node, in_block=False))
        return tuple(items)

    def question(self, node: Node, *, in_block: bool) -> Question:
        reader = self.reader
        reader.only(node, _QUESTION_KEYS, "a question")
        qid = reader.word(node, "id", "a question", QUESTION_ID)
        what = f'question "{qid}"'
        kind = node.get("type")
        if kind is None:
            raise reader.fail(node.line, f"{what}: 'type' is required")
        if kind not in QUESTION_TYPES:
            raise reader.fail(
                node.line_of("type"),
                f"{what} has unknown type {kind!r} (one of: {', '.join(QUESTION_TYPES)})",
            )
        options = self.options(node, kind, what)
        return Question(
            id=qid,
            type=kind,
            text=reader.texts(node, "text", what, ("agency",) if in_block else ()),
            options=options,
            skip=reader.flag(node, "skip", what),
            dont_know=reader.flag(node, "dont_know", what)
            or any(option.code == DONT_KNOW for option in options),
            show_if=self.condition(node, what),
            line=node.line_of("id"),
        )

    def options(self, node: Node, kind: str, what: str) -> tuple[Option, ...]:
        takes = {"single": "options", "multiple": "options", "scale": "scale"}.get(kind)
        for key in ("options", "scale"):
            if key in node and key != takes:
                raise self.reader.fail(
                    node.line_of(key), f"{what}: a {kind} question has no '{key}'"
                )
        if kind in _NUMBERED:
            return tuple(Option(str(n), {"zh": str(n), "en": str(n)}) for n in _NUMBERED[kind])
        if takes == "options":
            return _options(self.reader, node, what, scored=False)
        if takes is None:
            return ()
        name = node.get("scale")
        if name is None:
            raise self.reader.fail(node.line, f"{what}: 'scale' is required for a scale question")
        if not isinstance(name, str) or name not in self.scales:
            known = ", ".join(sorted(self.scales))
            raise self.reader.fail(
                node.line_of("scale"),
                f"{what}: unknown scale {name!r} (built in or defined under 'scales': {known})",
            )
        return self.scales[name].options

    def condition(self, node: Node, what: str) -> Condition | None:
        if "show_if" not in node:
            return None
        line = node.line_of("show_if")
        entry = self.reader.mapping(node["show_if"], line, f"{what}: 'show_if'")
        self.reader.only(entry, ("question", "any_of"), f"{what}: 'show_if'")
        target = self.reader.word(entry, "question", f"{what}: 'show_if'", QUESTION_ID)
        codes = self.reader.sequence(entry, "any_of", f"{what}: 'show_if'")
        any_of = tuple(
            self.reader.code(code, at, f"{what}: an 'any_of' code", OPTION_CODE)
            for code, at in zip(codes, codes.item_lines, strict=True)
        )
        return Condition(target, any_of, line)

    def block(self, value: Any, line: int) -> AgencyBlock:
        reader = self.reader
        what = "agency block"
        node = reader.mapping(value, line, what)
        reader.only(node, _BLOCK_KEYS, what)
        source = node.get("agencies_from")
        if source not in (CHOICE, ASSIGNED):
            raise reader.fail(
                node.line_of("agencies_from"),
                f"{what}: 'agencies_from' must be {CHOICE} or {ASSIGNED}",
            )
        codes = self.agency_codes(node, required=source == CHOICE)
        choose = None
        if source == CHOICE:
            choose = self.choose(node, codes)
        elif "choose" in node:
            raise reader.fail(node.line_of("choose"), f"{what}: 'choose' is only for {CHOICE}")
        entries = reader.sequence(node, "questions", what)
        questions = []
        for entry, at in zip(entries, entries.item_lines, strict=True):
            entry = reader.mapping(entry, at, f"{what}: a question")
            questions.append(self.question(entry, in_block=True))
        return AgencyBlock(source, codes, choose, tuple(questions), line)

    def agency_codes(self, node: Node, *, required: bool) -> tuple[str, ...]:
        if "agencies" not in node and not required:
            return ()
        entries = self.reader.sequence(node, "agencies", "agency block")
        codes: list[str] = []
        for code, line in zip(entries, entries.item_lines, strict=True):
            code = self.reader.code(code, line, "an agency code", OPTION_CODE)
            if code not in self.agencies:
                raise self.reader.fail(
                    line, f"unknown agency '{code}' (not in the profile's agencies)"
                )
            if code in codes:
                raise self.reader.fail(line, f"agency '{code}' is listed twice")
            codes.append(code)
        return tuple(codes)

    def choose(self, block: Node, codes: tuple[str, ...]) -> Question:
        what = "agency block"
        if "choose" not in block:
            raise self.reader.fail(block.line, f"{what}: 'choose' (which agencies?) is required")
        node = self.reader.mapping(block["choose"], block.line_of("choose"), f"{what}: 'choose'")
        self.reader.only(node, _CHOOSE_KEYS, f"{what}: 'choose'")
        qid = self.reader.word(node, "id", f"{what}: 'choose'", QUESTION_ID)
        what = f'question "{qid}"'
        options = tuple(
            Option(code, self.names.get(code) or {"zh": code, "en": code}) for code in codes
        )
        return Question(
            id=qid,
            type="multiple",
            text=self.reader.texts(node, "text", what),
            options=options,
            skip=self.reader.flag(node, "skip", what),
            dont_know=self.reader.flag(node, "dont_know", what),
            show_if=self.condition(node, what),
            line=node.line_of("id"),
        )
