"""Corrupt input files, through the real command line.

Every file format a user hands to ditto (character profiles, chat files for `generate`, SFT
data for `train`, eval sets, judged outputs) is read by `ditto.cli.main` in-process, with
files that hypothesis breaks in the ways files break: random bytes, invalid UTF-8, a writer
killed mid-line, lines that are not JSON or not objects, numbers no type holds, nesting past
the recursion limit, unpaired surrogate escapes, wrong types, missing or unknown fields, empty
files and blank lines. Whatever the file, the command must

- exit with code 2 and no Python traceback,
- print one line on stderr, valid UTF-8, naming the file and, for a bad line, its number,
- print nothing on stdout and leave no output behind (the output path does not exist, or is
  unchanged when it existed before),
- and never load a model: input is validated first (loading one here fails the test).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ditto.cli import main

FAST = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

TEXT = st.text(max_size=20)  # any unicode but unpaired surrogates
SURROGATE_TEXT = st.builds(
    lambda a, s, b: a + s + b, TEXT, st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), TEXT
)
# Values of every JSON type, for fields that must have another one.
NOT_TEXT = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.lists(TEXT, max_size=2),
    st.dictionaries(TEXT, TEXT, max_size=2),
)
NOT_LIST = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(min_size=1, max_size=5),
    st.dictionaries(TEXT, TEXT, min_size=1, max_size=2),
)
NOT_NUMBER = st.one_of(
    st.booleans(),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(TEXT, st.integers(), max_size=2),
)


# --- records, good and bad ----------------------------------------------------------------


def message(role: str, content: str) -> dict:
    return {"role": role, "content": content}


PROFILE_FIELDS = {
    "id",
    "name",
    "lang",
    "description",
    "aliases",
    "claims",
    "category",
    "sitelinks",
    "wiki_title",
    "summary",
    "article",
    "sources",
    "retrieved",
}
GOOD_PROFILE = st.fixed_dictionaries(
    {
        "id": st.from_regex(r"Q[1-9][0-9]{0,6}", fullmatch=True),
        "name": st.text(min_size=1, max_size=20),
        "lang": st.sampled_from(["en", "zh"]),
    },
    optional={
        "description": TEXT,
        "aliases": st.lists(TEXT, max_size=3),
        "claims": st.lists(TEXT, max_size=3),
        "category": st.sampled_from(["human", "fictional", "other"]),
        "sitelinks": st.integers(0, 500),
        "summary": TEXT,
        "sources": st.just(["curated"]),
        "retrieved": st.just("2026-01-02"),
    },
)
GOOD_CHAT = st.fixed_dictionaries(
    {
        "messages": st.lists(
            st.builds(message, st.sampled_from(["system", "user", "assistant"]), TEXT),
            min_size=1,
            max_size=3,
        )
    },
    optional={"id": st.integers() | TEXT, "note": TEXT},
)
GOOD_SFT = st.builds(
    lambda system, user, reply: {
        "messages": [message("system", system), message("user", user), message("assistant", reply)]
    },
    TEXT,
    TEXT,
    TEXT,
)


@st.composite
def good_eval_item(draw) -> dict:
    prompts = draw(st.lists(TEXT, min_size=1, max_size=3))
    label = draw(st.text(min_size=1, max_size=10))
    # A valid set names the character in exactly one candidate line (or has none): the
    # others are lines that cannot be read as the label.
    others = [c for c in draw(st.lists(TEXT, max_size=3)) if label.strip() not in c]
    candidates: list[str] = []
    if draw(st.booleans()):
        candidates = others
        candidates.insert(draw(st.integers(0, len(others))), label)
    meta = {
        "label": label,
        "lang": draw(st.sampled_from(["en", "zh"])),
        "rejection_labels": [draw(st.sampled_from([0, 1])) for _ in prompts],
        "role_consist_cands": candidates,
    }
    if draw(st.booleans()):  # ours: messages and meta
        messages = [message("system", draw(TEXT))]
        for prompt in prompts:
            messages += [message("user", prompt), message("assistant", draw(TEXT))]
        return {"id": draw(TEXT), "messages": messages, "meta": meta}
    return {
        "system": draw(TEXT),
        "prompts": prompts,
        "ref_messages": [draw(TEXT) for _ in prompts],
        "meta": meta,
    }


@st.composite
def good_judged(draw) -> dict:
    turns = draw(st.integers(1, 3))
    record = {
        "consist_scores": [draw(st.sampled_from([0.0, 0.5, 1.0, None])) for _ in range(turns)],
        "reject_scores": [draw(st.sampled_from([0, 1, None])) for _ in range(turns)],
        "knowledge_scores": [draw(st.sampled_from([0, 5, 8.5, None])) for _ in range(turns)],
    }
    eval_fields = {
        "lang": draw(st.sampled_from(["en", "zh"])),
        "rejection_labels": [draw(st.sampled_from([0, 1])) for _ in range(turns)],
    }
    if draw(st.booleans()):
        return record | {"meta": eval_fields}
    return record | eval_fields


def set_field(record: dict, path: tuple, value: object) -> dict:
    """A deep copy of `record` with the field at `path` (keys and list positions) set to `value`."""
    record = json.loads(json.dumps(record))
    target = record
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return record


def drop_field(record: dict, path: tuple) -> dict:
    record = json.loads(json.dumps(record))
    target = record
    for key in path[:-1]:
        target = target[key]
    target.pop(path[-1], None)
    return record


@st.composite
def bad_profile(draw) -> dict:
    record = draw(GOOD_PROFILE)
    kind = draw(
        st.sampled_from(
            [
                "missing",
                "not text",
                "not list",
                "category",
                "sitelinks",
                "date",
                "unknown field",
                "surrogate",
            ]
        )
    )
    if kind == "missing":
        return drop_field(record, (draw(st.sampled_from(["id", "name", "lang"])),))
    if kind == "not text":
        return set_field(
            record,
            (draw(st.sampled_from(["id", "name", "lang", "description", "summary"])),),
            draw(NOT_TEXT),
        )
    if kind == "not list":
        return set_field(
            record, (draw(st.sampled_from(["aliases", "claims", "sources"])),), draw(NOT_LIST)
        )
    if kind == "category":
        return set_field(
            record,
            ("category",),
            draw(NOT_TEXT | TEXT.filter(lambda c: c not in ("human", "fictional", "other"))),
        )
    if kind == "sitelinks":
        return set_field(
            record,
            ("sitelinks",),
            draw(
                st.none()
                | st.floats(0.1, 0.9)
                | st.text(st.characters(categories=["L"]), min_size=1)
                | st.lists(st.integers(), max_size=1)
            ),
        )
    if kind == "date":
        return set_field(
            record, ("retrieved",), draw(st.sampled_from(["yesterday", "2026-13-45", "", [], {}]))
        )
    if kind == "unknown field":
        return set_field(
            record, (draw(TEXT.filter(lambda k: k not in PROFILE_FIELDS)),), draw(TEXT)
        )
    return set_field(record, ("name",), draw(SURROGATE_TEXT))


def bad_messages(draw, record: dict) -> dict:
    kind = draw(
        st.sampled_from(
            ["missing", "not list", "empty", "not object", "role", "content", "surrogate"]
        )
    )
    if kind == "missing":
        return drop_field(record, ("messages",))
    if kind == "not list":
        return set_field(record, ("messages",), draw(NOT_LIST))
    if kind == "empty":
        return set_field(record, ("messages",), [])
    position = draw(st.integers(0, len(record["messages"]) - 1))
    if kind == "not object":
        return set_field(
            record, ("messages", position), draw(NOT_LIST.filter(lambda v: not isinstance(v, dict)))
        )
    if kind == "role":
        return set_field(
            record,
            ("messages", position, "role"),
            draw(NOT_TEXT | TEXT.filter(lambda r: r not in ("system", "user", "assistant"))),
        )
    if kind == "content":
        return set_field(record, ("messages", position, "content"), draw(NOT_TEXT))
    return set_field(record, ("messages", position, "content"), draw(SURROGATE_TEXT))


@st.composite
def bad_chat(draw) -> dict:
    return bad_messages(draw, draw(GOOD_CHAT))


@st.composite
def bad_sft(draw) -> dict:
    record = draw(GOOD_SFT)
    if draw(st.integers(0, 7)) == 0:  # nothing for the model to learn
        return set_field(record, ("messages", 2, "role"), draw(st.sampled_from(["user", "system"])))
    return bad_messages(draw, record)


@st.composite
def bad_eval_item(draw) -> dict:
    record = draw(good_eval_item())
    official = "prompts" in record
    kind = draw(
        st.sampled_from(
            [
                "label",
                "lang",
                "no prompts",
                "prompts",
                "refs",
                "labels",
                "evidence",
                "system",
                "surrogate",
            ]
        )
    )
    if kind == "label":
        return drop_field(record, ("meta", "label"))
    if kind == "lang":
        return set_field(record, ("meta", "lang"), draw(NOT_TEXT.filter(lambda v: v is not None)))
    if kind == "no prompts":
        if official:
            return set_field(record, ("prompts",), [])
        return set_field(record, ("messages",), record["messages"][:1])
    if kind == "prompts":
        bad = NOT_LIST.filter(lambda v: v not in (None, False, 0, 0.0))
        bad |= st.lists(
            st.integers() | st.lists(st.integers(), max_size=2) | st.none(), min_size=1, max_size=3
        )
        bad |= st.builds(lambda a, b: [a, b], st.just({"content": "Who are you?"}), NOT_LIST)
        return set_field(record, ("prompts",), draw(bad))
    if kind == "refs":
        bad = NOT_LIST.filter(
            lambda v: v not in (None, False, 0, 0.0, "") and not (isinstance(v, dict) and not v)
        )
        bad |= st.builds(
            lambda a, b: [a, b], st.just({"role": "assistant", "content": "Me."}), NOT_LIST
        )
        return set_field(record, ("ref_messages",), draw(bad))
    if kind == "labels":
        prompts = len(
            record.get("prompts") or [m for m in record["messages"] if m["role"] == "user"]
        )
        bad = st.lists(st.sampled_from([0, 1]), min_size=prompts + 1, max_size=prompts + 3)
        bad |= st.lists(
            st.text(st.characters(categories=["L"]), min_size=1) | st.none(), min_size=1, max_size=3
        )
        return set_field(record, ("meta", "rejection_labels"), draw(bad))
    if kind == "evidence":
        bad = st.lists(
            st.lists(
                st.integers() | st.none() | st.lists(TEXT, max_size=1), min_size=1, max_size=2
            ),
            min_size=1,
            max_size=3,
        )
        bad |= NOT_LIST.filter(
            lambda v: v not in (None, False, 0, 0.0, "") and not isinstance(v, (list, dict))
        )
        return set_field(record, ("meta", "evidence"), draw(bad))
    if kind == "system":
        bad = NOT_TEXT.filter(lambda v: bool(v) and not isinstance(v, str))
        if official:
            return set_field(record, ("system",), draw(bad))
        return set_field(record, ("messages", 0, "content"), draw(bad))
    return set_field(record, ("meta", "label"), draw(SURROGATE_TEXT))


@st.composite
def bad_judged(draw) -> dict:
    record = draw(good_judged())
    where = ("meta",) if "meta" in record else ()
    turns = len(record["consist_scores"])
    kind = draw(
        st.sampled_from(
            [
                "missing",
                "not list",
                "lengths",
                "no turns",
                "not number",
                "out of range",
                "lang",
                "labels",
                "category",
            ]
        )
    )
    score_field = draw(st.sampled_from(["consist_scores", "reject_scores", "knowledge_scores"]))
    if kind == "missing":
        return drop_field(record, (score_field,))
    if kind == "not list":
        return set_field(record, (score_field,), draw(NOT_LIST))
    if kind == "no turns":
        record = set_field(record, (*where, "rejection_labels"), [])
        return record | {
            name: [] for name in ("consist_scores", "reject_scores", "knowledge_scores")
        }
    if kind == "lengths":
        return set_field(
            record, (score_field,), record[score_field] + [0] * draw(st.integers(1, 3))
        )
    if kind == "not number":
        return set_field(record, (score_field, draw(st.integers(0, turns - 1))), draw(NOT_NUMBER))
    if kind == "out of range":
        # Not finite, or (10**400) an integer no float holds.
        bad = st.sampled_from([float("nan"), float("inf"), -float("inf"), 10**400])
        if score_field == "consist_scores":  # 0-1
            bad |= st.floats(1.01, 1e300) | st.floats(-1e300, -0.01) | st.sampled_from([-1, 2, 10])
        elif score_field == "knowledge_scores":  # 1-10, or 0: not judged
            bad |= (
                st.floats(10.01, 1e300)
                | st.floats(0.01, 0.99)
                | st.floats(-1e300, -0.01)
                | st.sampled_from([-1, 11])
            )
        return set_field(record, (score_field, draw(st.integers(0, turns - 1))), draw(bad))
    if kind == "lang":
        bad = NOT_TEXT | st.sampled_from(["", "all", "ci", "by_category"])
        return set_field(record, (*where, "lang"), draw(bad))
    if kind == "labels":
        return set_field(record, (*where, "rejection_labels"), draw(NOT_LIST))
    return set_field(
        record,
        (*where, "category"),
        draw(
            st.lists(TEXT, min_size=1, max_size=2)
            | st.dictionaries(TEXT, TEXT, min_size=1, max_size=2)
            | st.integers()
            | st.booleans()
        ),
    )


# --- whole files ----------------------------------------------------------------------------

BLANK = st.sampled_from([b"", b" ", b"\t", b"\r", b"  \t "])


def dumps(record: object, ascii_only: bool) -> bytes:
    return json.dumps(record, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


@dataclass
class BadFile:
    content: bytes
    line: int | None  # the first bad line, when the fault is in one line


@st.composite
def broken_line(draw, good: st.SearchStrategy, bad: st.SearchStrategy) -> bytes:
    """One line that no reader of this format may accept."""
    kind = draw(
        st.sampled_from(
            [
                "record",
                "record",
                "record",
                "cut",
                "not json",
                "not object",
                "huge",
                "deep",
                "bad utf-8",
            ]
        )
    )
    if kind == "record":
        return dumps(draw(bad), draw(st.booleans()))
    if kind == "cut":  # a writer killed mid-line (possibly inside a UTF-8 sequence)
        text = dumps(draw(good), draw(st.booleans()))
        return text[: draw(st.integers(1, len(text) - 1))]
    if kind == "not json":
        garbage = st.text(min_size=1, max_size=30).filter(lambda t: t.strip() and not _is_json(t))
        return draw(
            garbage | st.sampled_from(["{'id': 'Q1'}", '{"a": 1,}', "NaN NaN", "{]", "\x00"])
        ).encode()
    if kind == "not object":
        return dumps(
            draw(
                st.none()
                | st.booleans()
                | st.integers()
                | st.floats()
                | TEXT
                | st.lists(TEXT, max_size=3)
            ),
            True,
        )
    if kind == "huge":  # more digits than Python turns into an int
        return b'{"id": ' + b"9" * draw(st.integers(4301, 6000)) + b"}"
    if kind == "deep":  # nesting past the recursion limit
        depth = draw(st.integers(2000, 5000))
        return b'{"a": ' + b"[" * depth + b"]" * depth + b"}"
    line = dumps(draw(good), draw(st.booleans()))
    at = draw(st.integers(0, len(line)))
    return (
        line[:at]
        + draw(
            st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80\x80", b"\xf8\x88\x80\x80"])
        )
        + line[at:]
    )


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


@st.composite
def bad_file(draw, good: st.SearchStrategy, bad: st.SearchStrategy) -> BadFile:
    kind = draw(
        st.sampled_from(["bad line", "bad line", "bad line", "empty", "random bytes", "cut file"])
    )
    if kind == "empty":
        return BadFile(b"\n".join(draw(st.lists(BLANK, max_size=3))), None)
    if kind == "random bytes":
        raw = draw(st.binary(max_size=200))
        at = draw(st.integers(0, len(raw)))
        # 0xFF is never UTF-8: the file cannot be valid
        return BadFile(raw[:at] + b"\xff" + raw[at:], None)
    lines = []
    for _ in range(draw(st.integers(0, 3))):
        lines.append(
            draw(BLANK) if draw(st.integers(0, 3)) == 0 else dumps(draw(good), draw(st.booleans()))
        )
    if kind == "cut file":  # the last line cut inside its JSON object
        last = dumps(draw(good), draw(st.booleans()))
        lines.append(last[: draw(st.integers(1, len(last) - 1))])
        return BadFile(b"\n".join(lines), len(lines))
    lines.append(draw(broken_line(good, bad)))
    line = len(lines)
    lines += draw(st.lists(st.binary(max_size=40), max_size=3))  # anything may follow it
    newline = draw(st.sampled_from([b"\n", b"\r\n"]))
    return BadFile(newline.join(lines) + draw(st.sampled_from([b"", newline])), line)


FORMATS = {
    "profiles": (GOOD_PROFILE, bad_profile()),
    "chats": (GOOD_CHAT, bad_chat()),
    "sft": (GOOD_SFT, bad_sft()),
    "eval set": (good_eval_item(), bad_eval_item()),
    "judged": (good_judged(), bad_judged()),
}


# --- running a command ----------------------------------------------------------------------


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_ditto(args: list[str]) -> Result:
    """`ditto ARGS` in-process; stdout and stderr are strict UTF-8 streams, as a terminal."""
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict", write_through=True)
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict", write_through=True)
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(args)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return Result(
        code, out.buffer.getvalue().decode("utf-8"), err.buffer.getvalue().decode("utf-8")
    )


def check_rejected(result: Result, path: Path, bad: BadFile) -> None:
    assert "Traceback" not in result.err
    assert result.code == 2, (
        f"exit {result.code}; stderr: {result.err!r}; stdout: {result.out[:300]!r}"
    )
    message = result.err.rstrip("\n")
    assert message and "\n" not in message, f"not one line: {result.err!r}"
    assert message.startswith("error"), message
    assert str(path) in message, message
    if bad.line is not None:
        assert f"{path}:{bad.line}:" in message, message
    else:  # the first bad line is somewhere: a line number, when given, is a real one
        numbers = re.findall(rf"{re.escape(str(path))}:(\d+):", message)
        assert all(1 <= int(n) <= bad.content.count(b"\n") + 1 for n in numbers), message
    assert result.out == "", f"output on a bad file: {result.out[:300]!r}"


@pytest.fixture
def no_model(monkeypatch):
    """Loading a model fails the test: bad input must be caught before that."""

    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded before the input was validated")

    import ditto.cli.eval
    import ditto.cli.generate
    import ditto.cli.simulate

    for module in (ditto.cli.generate, ditto.cli.simulate, ditto.cli.eval):
        monkeypatch.setattr(module, "load_model", refuse)


def case_dir(tmp_path: Path) -> Path:
    """A fresh folder per hypothesis example (tmp_path is shared by all examples of a test)."""
    return Path(tempfile.mkdtemp(dir=tmp_path))


def write(folder: Path, bad: BadFile, name: str = "input.jsonl") -> Path:
    path = folder / name
    path.write_bytes(bad.content)
    return path


def tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def check_command(
    tmp_path: Path, bad: BadFile, command: str, output_before: bytes | None = None
) -> None:
    """Run `command` ("{input}" and "{output}" stand for the paths) on the bad file in a fresh
    folder; afterwards the folder must hold exactly what it held before."""
    folder = case_dir(tmp_path)
    path = write(folder, bad)
    output = folder / "output"
    if output_before is not None:
        output.write_bytes(output_before)
    before = tree(folder)
    args = [part.format(input=path, output=output) for part in command.split()]
    check_rejected(run_ditto(args), path, bad)
    assert tree(folder) == before, "the command left files behind"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        p.name for p in [path, output] if p.exists()
    )


# --- the commands ---------------------------------------------------------------------------


@FAST
@given(bad=bad_file(*FORMATS["profiles"]), show=st.booleans())
def test_characters_list_and_show_reject_a_bad_profile_file(tmp_path, bad, show):
    if show:
        check_command(tmp_path, bad, "characters show Q1 --file {input} --json")
    else:
        check_command(tmp_path, bad, "characters list --file {input}")


@FAST
@given(bad=bad_file(*FORMATS["profiles"]))
def test_simulate_rejects_a_bad_profile_file_before_loading_a_model(tmp_path, no_model, bad):
    check_command(tmp_path, bad, "simulate --characters {input} --run {output} --no-progress")


@FAST
@given(bad=bad_file(*FORMATS["chats"]), output_before=st.none() | st.binary(max_size=30))
def test_generate_rejects_a_bad_chat_file_before_loading_a_model(
    tmp_path, no_model, bad, output_before
):
    command = "generate -i {input} -o {output} --run {output}.run --no-progress"
    check_command(tmp_path, bad, command, output_before)


@FAST
@given(bad=bad_file(*FORMATS["sft"]))
def test_train_rejects_bad_sft_data_before_loading_a_model(tmp_path, monkeypatch, bad):
    import ditto.train.trainer

    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded before the data was validated")

    monkeypatch.setattr(ditto.train.trainer, "load_pretrained", refuse)
    check_command(tmp_path, bad, "train --data {input} --output {output} --no-progress")


@FAST
@given(bad=bad_file(*FORMATS["eval set"]))
def test_eval_run_rejects_a_bad_eval_set_before_loading_a_model(tmp_path, no_model, bad):
    check_command(tmp_path, bad, "eval run --eval {input} --out {output} --no-progress")


@FAST
@given(bad=bad_file(*FORMATS["judged"]))
def test_eval_score_rejects_a_bad_judged_file(tmp_path, bad):
    check_command(tmp_path, bad, "eval score {input} --bootstrap 20")


@pytest.mark.parametrize(
    "command",
    [
        "characters list --file {input}",
        "simulate --characters {input} --run {output}",
        "generate -i {input} -o {output} --run {output}.run",
        "train --data {input} --output {output}",
        "eval run --eval {input} --out {output}",
        "eval score {input}",
    ],
)
@pytest.mark.parametrize("what", ["missing", "folder"])
def test_a_missing_file_or_a_folder_is_one_line(tmp_path, no_model, command, what):
    path = tmp_path / "input.jsonl"
    if what == "folder":
        path.mkdir()
    output = tmp_path / "output"
    args = [part.format(input=path, output=output) for part in command.split()]
    check_rejected(run_ditto(args), path, BadFile(b"", None))
    assert sorted(p.name for p in tmp_path.iterdir()) == (
        ["input.jsonl"] if what == "folder" else []
    )


# Files that once crashed a command or passed as good input, found by the properties above;
# kept as plain cases so that they are tried on every run whatever hypothesis draws.
PROFILE = '{"id": "Q1", "name": "Ada", "lang": "en"}\n'
CHAT = '{"messages": [{"role": "user", "content": "Hi"}]}\n'
EVAL_ITEM = '{"system": "s", "prompts": ["Who are you?"], "meta": {"label": "Ada", "lang": "en"}}\n'
JUDGED = (
    '{"consist_scores": [1.0], "reject_scores": [0], "knowledge_scores": [8], '
    '"lang": "en", "rejection_labels": [0]}\n'
)
KNOWN_BAD = {
    "profiles: empty file": ("characters list --file {input}", b"\n \n", None),
    "profiles: 5,000 digits": (
        "characters list --file {input}",
        b'{"id": ' + b"9" * 5000 + b"}",
        1,
    ),
    "profiles: nesting past the recursion limit": (
        "simulate --characters {input} --run {output}",
        PROFILE.encode() + b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        2,
    ),
    "profiles: lone surrogate": (
        "characters list --file {input}",
        b'{"id": "Q1", "name": "\\ud800", "lang": "en"}',
        1,
    ),
    "profiles: unknown field with a line break": (
        "characters list --file {input}",
        b'{"id": "Q1", "name": "Ada", "lang": "en", "a\\nb": 1}',
        1,
    ),
    "profiles: invalid UTF-8 on line 2, bad field on line 1": (
        "characters list --file {input}",
        b'{"id": 1, "name": "Ada", "lang": "en"}\n\xff\n',
        1,
    ),
    "chats: lone surrogate": (
        "generate -i {input} -o {output}",
        CHAT.encode() + b'{"messages": [{"role": "user", "content": "\\udc00"}]}',
        2,
    ),
    "sft: invalid UTF-8": ("train --data {input} --output {output}", b'{"messages": "\xc3"}', 1),
    "eval set: prompts an object": (
        "eval run --eval {input} --out {output}",
        EVAL_ITEM.replace('["Who are you?"]', '{"a": 1}').encode(),
        1,
    ),
    "eval set: prompts true": (
        "eval run --eval {input} --out {output}",
        EVAL_ITEM.replace('["Who are you?"]', "true").encode(),
        1,
    ),
    "eval set: a message then a number": (
        "eval run --eval {input} --out {output}",
        EVAL_ITEM.replace('["Who are you?"]', '[{"content": "Hi"}, 3]').encode(),
        1,
    ),
    "eval set: evidence with a number": (
        "eval run --eval {input} --out {output}",
        EVAL_ITEM.replace('"lang": "en"', '"lang": "en", "evidence": [[1]]').encode(),
        1,
    ),
    "judged: category a list": (
        "eval score {input}",
        JUDGED.encode() + JUDGED.replace('"lang"', '"category": ["x"], "lang"').encode(),
        2,
    ),
    "judged: a score no float holds": (
        "eval score {input}",
        JUDGED.replace("[8]", "[1" + "0" * 400 + "]").encode(),
        1,
    ),
    "judged: NaN": ("eval score {input}", JUDGED.replace("[1.0]", "[NaN]").encode(), 1),
    "judged: lang 'all'": ("eval score {input}", JUDGED.replace('"en"', '"all"').encode(), 1),
    "judged: no turns": (
        "eval score {input}",
        JUDGED.replace("[1.0]", "[]").replace("[0]", "[]").replace("[8]", "[]").encode(),
        1,
    ),
}


@pytest.mark.parametrize("case", KNOWN_BAD)
def test_known_bad_files(tmp_path, no_model, case):
    command, content, line = KNOWN_BAD[case]
    check_command(tmp_path, BadFile(content, line), command)
