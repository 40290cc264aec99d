"""People's labels of judged turns: one JSON object a line, read, checked and written here.

A label is what one annotator says about one turn of one eval dialogue:

    {"item": "en-12", "turn": 0, "metric": "consistency", "value": "Sherlock Holmes", "annotator": "ann1"}

`value` is a candidate's name for consistency (as the judge names it: the text between the
brackets of `[Name] summary`), an integer 1-10 for knowledge, 0 or 1 for rejection and for
query_valid (was the question a fair one to ask the character; another command reads it).
Labels are checked line by line, so a typo costs a one-line error naming the file and line
instead of a figure quietly computed on fewer turns. A label naming an item the judged file
does not hold is not an error: `agreement` counts it as unmatched.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)

from ditto.chat_files import iter_jsonl, write_jsonl_atomic
from ditto.errors import DittoError
from ditto.evaluate.candidates import candidate_name

LabelMetric = Literal["consistency", "knowledge", "rejection", "query_valid"]
KNOWLEDGE_SCORES = range(1, 11)  # the judge's 1-10 scale


class HumanLabel(BaseModel):
    """One annotator's verdict on one turn; the value's form is checked against the metric."""

    model_config = ConfigDict(frozen=True)

    item: StrictStr = Field(min_length=1, description="the eval item's id, as in judged.jsonl")
    turn: StrictInt = Field(ge=0, description="the turn, counted from 0")
    metric: LabelMetric
    value: StrictStr | StrictInt = Field(
        description="consistency: a candidate's name; knowledge: 1-10; rejection and query_valid: 0 or 1"
    )
    annotator: StrictStr = Field(min_length=1)

    @field_validator("value", mode="before")
    @classmethod
    def _name_or_integer(cls, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ValueError(f"{value!r} is neither a name nor an integer")
        return value

    @model_validator(mode="after")
    def _value_fits_the_metric(self) -> HumanLabel:
        fault = value_fault(self.metric, self.value)
        if fault:
            raise ValueError(fault)
        return self

    @property
    def unit(self) -> tuple[str, int, str]:
        """(item, turn, metric): what a verdict is about, whoever gave it."""
        return self.item, self.turn, self.metric


def value_fault(metric: str, value: str | int) -> str | None:
    """Why `value` cannot be a label of `metric`, or None."""
    if metric == "consistency":
        return None if isinstance(value, str) and value.strip() else f"consistency value {value!r} is not a name"
    if metric == "knowledge":
        return None if isinstance(value, int) and value in KNOWLEDGE_SCORES else (
            f"knowledge value {value!r} is not an integer 1-10"
        )
    return None if isinstance(value, int) and value in (0, 1) else f"{metric} value {value!r} is not 0 or 1"


def candidate_index(candidates: Sequence[str], name: str) -> int | None:
    """The position of the candidate called `name` (its bracketed name, or the whole line for a
    bare name), as the judge's consistency verdicts are compared; None when none is."""
    wanted = name.strip()
    for index, line in enumerate(candidates):
        if candidate_name(line) == wanted or line.strip() == wanted:
            return index
    return None


def _one_line(error: ValidationError) -> str:
    """The first fault of a pydantic error, as one line: 'turn: Input should be ...'."""
    first = error.errors()[0]
    message = str(first["msg"]).removeprefix("Value error, ")
    field = ".".join(str(part) for part in first["loc"])
    return f"{field}: {message}" if field else message


def parse_label(record: dict, where: str, candidates: Mapping[str, Sequence[str]]) -> HumanLabel:
    """The label of one line; a consistency name must be a candidate of its item when the item is known."""
    try:
        label = HumanLabel.model_validate(record)
    except ValidationError as exc:
        raise DittoError(f"{where}: {_one_line(exc)}") from None
    if label.metric == "consistency" and label.item in candidates:
        item_candidates = candidates[label.item]
        if candidate_index(item_candidates, str(label.value)) is None:
            shown = "; ".join(candidate_name(line) for line in item_candidates)
            raise DittoError(
                f"{where}: {label.value!r} is no consistency candidate of item {label.item!r} (candidates: {shown})"
            )
    return label


def read_labels(
    paths: Sequence[str | Path], candidates: Mapping[str, Sequence[str]] | None = None
) -> list[HumanLabel]:
    """Every label of the files, in order, checked (`check_labels`)."""
    labels = check_labels(jsonl_records(paths), candidates)
    if not labels:
        raise DittoError(f"no labels in {', '.join(str(path) for path in paths)}")
    return labels


def jsonl_records(paths: Sequence[str | Path]) -> Iterator[tuple[str, dict]]:
    """("file:line", record) of every line of the files, in order."""
    for path in paths:
        for number, record in iter_jsonl(path):
            yield f"{path}:{number}", record


def check_labels(
    records: Iterable[tuple[str, dict]], candidates: Mapping[str, Sequence[str]] | None = None
) -> list[HumanLabel]:
    """The labels of (where, record) pairs, each checked: `candidates` (item id -> candidate
    lines) lets consistency names be checked; an annotator labelling the same turn and metric
    twice is refused too, since the second label would silently outweigh the other annotators.
    `where` names the record in errors (file:line, or a Label Studio task)."""
    candidates = candidates or {}
    labels: list[HumanLabel] = []
    first_seen: dict[tuple[str, int, str, str], str] = {}
    for where, record in records:
        label = parse_label(record, where, candidates)
        key = (*label.unit, label.annotator)
        if key in first_seen:
            raise DittoError(
                f"{where}: {label.annotator!r} already labelled {label.metric} of item {label.item!r} "
                f"turn {label.turn} (at {first_seen[key]})"
            )
        first_seen[key] = where
        labels.append(label)
    return labels


def write_labels(path: str | Path, labels: Iterable[HumanLabel]) -> None:
    """One label a line, in the layout `read_labels` reads, written atomically."""
    write_jsonl_atomic(path, (label.model_dump() for label in labels))
