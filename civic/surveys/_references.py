"""Checks across questions: unique ids, and `show_if` conditions that can come true.

A question inside an agency block may depend on an earlier question of the same block (then
it is decided for the same agency) or on an earlier question outside any block. A question
outside a block may depend only on an earlier question outside any block.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from civic.surveys._model import Condition, Item, Question
from civic.surveys._source import Reader


@dataclass(frozen=True)
class _Placed:
    question: Question
    position: int
    block: int | None  # the index of its agency block; None outside any block


def check_references(reader: Reader, items: Sequence[Item]) -> None:
    placed = _place(reader, items)
    for entry in placed.values():
        condition = entry.question.show_if
        if condition is not None:
            _check_condition(reader, entry, condition, placed)


def _place(reader: Reader, items: Sequence[Item]) -> dict[str, _Placed]:
    placed: dict[str, _Placed] = {}

    def add(question: Question, block: int | None) -> None:
        if question.id in placed:
            first = placed[question.id].question.line
            raise reader.fail(
                question.line, f'question id "{question.id}" is already used on line {first}'
            )
        placed[question.id] = _Placed(question, len(placed), block)

    for index, item in enumerate(items):
        if isinstance(item, Question):
            add(item, None)
            continue
        if item.choose is not None:
            add(item.choose, None)
        for question in item.questions:
            add(question, index)
    return placed


def _check_condition(
    reader: Reader, entry: _Placed, condition: Condition, placed: dict[str, _Placed]
) -> None:
    name = f'question "{entry.question.id}"'
    target = placed.get(condition.question)
    if target is None:
        raise reader.fail(
            condition.line,
            f'{name} depends on "{condition.question}", but there is no such question',
        )
    if target.position >= entry.position:
        where = "itself" if target is entry else f'"{target.question.id}", which comes after it'
        raise reader.fail(condition.line, f"{name} depends on {where}; it could never be shown")
    if target.block is not None and target.block != entry.block:
        where = "another agency block" if entry.block is not None else "an agency block"
        raise reader.fail(
            condition.line,
            f'{name} depends on "{target.question.id}", which is asked per agency in {where}',
        )
    codes = target.question.option_codes()
    unknown = [code for code in condition.any_of if code not in codes]
    if len(unknown) == len(condition.any_of):
        raise reader.fail(
            condition.line,
            f'{name} shows only if "{target.question.id}" is one of'
            f" [{', '.join(condition.any_of)}], which it can never be",
        )
    if unknown:
        raise reader.fail(
            condition.line,
            f'{name}: "{target.question.id}" has no option {", ".join(unknown)}'
            f" (it has {', '.join(codes)})",
        )
