"""`ditto generate` as a user runs it: real processes, a real llama.cpp server."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fault_proxy import FaultProxy
from tests.in_process import ditto_in_process


def ditto(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ditto", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )


def write_chats(path: Path, count: int) -> Path:
    with path.open("w") as handle:
        for i in range(count):
            messages = [{"role": "user", "content": f"Give me one fact about the number {i}."}]
            handle.write(json.dumps({"id": i, "messages": messages}) + "\n")
    return path


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_version_and_help_on_every_command():
    import typer.main

    from ditto import __version__
    from ditto.cli import app

    assert ditto("--version").stdout.strip() == f"ditto {__version__}"
    group = typer.main.get_command(app)
    for name in group.list_commands(None):
        result = ditto(name, "--help")
        assert result.returncode == 0, name
        assert "Usage:" in result.stdout


def test_generate_writes_replies_and_keeps_other_fields(tmp_path, llama_server):
    source = write_chats(tmp_path / "in.jsonl", 3)
    out = tmp_path / "out.jsonl"
    result = ditto("generate", "--base-url", llama_server, "-i", str(source), "-o", str(out),
                   "--run", str(tmp_path / "run"), "--max-tokens", "12", "--n", "2", "--seed", "1",
                   "--no-progress")
    assert result.returncode == 0, result.stderr
    records = read_lines(out)
    assert [r["id"] for r in records] == [0, 1, 2]
    for record in records:
        assert record["reply"] and len(record["samples"]) == 2
        assert record["usage"]["completion_tokens"] > 0
        assert record["messages"][0]["role"] == "user"


def test_rerun_sends_nothing_and_reproduces_the_output(tmp_path, llama_server):
    source = write_chats(tmp_path / "in.jsonl", 4)
    with FaultProxy(llama_server) as proxy:
        args = ["generate", "--base-url", proxy.base_url, "-i", str(source), "--run", str(tmp_path / "run"),
                "--max-tokens", "8", "--no-progress"]
        assert ditto(*args, "-o", str(tmp_path / "a.jsonl")).returncode == 0
        sent = proxy.posts
        assert ditto(*args, "-o", str(tmp_path / "b.jsonl")).returncode == 0
    assert sent == 4
    assert proxy.posts == sent  # the second run sent no completion request
    assert (tmp_path / "a.jsonl").read_text() == (tmp_path / "b.jsonl").read_text()


def stored_rows(run_dir: Path) -> int:
    try:
        with sqlite3.connect(run_dir / "store.sqlite", timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM requests").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_sigkill_mid_run_then_resume_equals_an_uninterrupted_run(tmp_path, llama_server):
    source = write_chats(tmp_path / "in.jsonl", 10)
    pinned = FaultProxy(llama_server, memory={}).start()  # the server's first answer to each request
    common = ["generate", "--base-url", pinned.base_url, "-i", str(source), "--max-tokens", "24",
              "--temperature", "0", "--concurrency", "1", "--no-progress"]
    reference = tmp_path / "reference.jsonl"
    assert ditto(*common, "-o", str(reference), "--run", str(tmp_path / "ref-run")).returncode == 0

    run_dir, out = tmp_path / "run", tmp_path / "out.jsonl"
    process = subprocess.Popen([sys.executable, "-m", "ditto", *common, "-o", str(out), "--run", str(run_dir)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while stored_rows(run_dir) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    killed_at = stored_rows(run_dir)
    assert 3 <= killed_at < 10, "the kill must land mid-run"
    assert not out.exists(), "a killed run must not leave an output that looks complete"

    resumed = ditto(*common, "-o", str(out), "--run", str(run_dir))
    assert resumed.returncode == 0, resumed.stderr
    pinned.close()
    assert out.read_text() == reference.read_text()
    assert stored_rows(run_dir) == 10


BAD_INPUTS = {
    "not JSON": ('{"messages": [}\n', ":1: not valid JSON"),
    "no messages": ('{"messages": [{"role": "user", "content": "hi"}]}\n{"prompt": "hi"}\n', ":2: no 'messages' field"),
    "unknown role": ('{"messages": [{"role": "wizard", "content": "hi"}]}\n', "unknown role 'wizard'"),
    "content not text": ('{"messages": [{"role": "user", "content": 3}]}\n', "needs a string 'content'"),
    "not an object": ('[1, 2]\n', ":1: expected a JSON object"),
    "empty": ("\n", "no records"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_one_line_and_exit_2(tmp_path, case):
    text, expected = BAD_INPUTS[case]
    source = tmp_path / "in.jsonl"
    source.write_text(text)
    result = ditto_in_process("generate", "-i", str(source), "-o", str(tmp_path / "out.jsonl"),
                              "--run", str(tmp_path / "run"))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert expected in result.stderr
    assert str(source) in result.stderr
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--temperature", "-1"], "--temperature"),
        (["--max-tokens", "0"], "--max-tokens"),
        (["--top-p", "0"], "--top-p"),
        (["--n", "abc"], "--n"),
        (["--model", "/no/such/model.gguf"], "no such GGUF file"),
        (["--model", "./no-such-dir"], "no such model directory"),
        (["--base-url", "http://127.0.0.1:9/v1"], "cannot reach http://127.0.0.1:9/v1"),
        (["--bogus"], "No such option"),
    ],
)
def test_bad_settings_are_one_line_and_exit_2(tmp_path, args, expected):
    source = write_chats(tmp_path / "in.jsonl", 1)
    result = ditto_in_process("generate", "-i", str(source), "-o", str(tmp_path / "out.jsonl"),
                   "--run", str(tmp_path / "run"), *args)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert expected in result.stderr


def test_missing_output_folder_is_caught_before_work(tmp_path):
    source = write_chats(tmp_path / "in.jsonl", 1)
    result = ditto_in_process("generate", "-i", str(source), "-o", str(tmp_path / "nope" / "out.jsonl"),
                   "--run", str(tmp_path / "run"))
    assert result.returncode == 2
    assert "does not exist" in result.stderr


def test_failure_mid_run_keeps_what_was_done(tmp_path, llama_server):
    """A server that dies after two answers: the two are stored, and a re-run reuses them."""
    source = write_chats(tmp_path / "in.jsonl", 4)
    with FaultProxy(llama_server) as proxy:
        proxy.faults = [None, None] + ["500"] * 50  # type: ignore[list-item]
        result = ditto("generate", "--base-url", proxy.base_url, "-i", str(source), "-o", str(tmp_path / "o.jsonl"),
                       "--run", str(tmp_path / "run"), "--max-tokens", "8", "--concurrency", "1", "--no-progress",
                       "--max-retries", "1")
    assert result.returncode == 2
    assert "HTTP 500" in result.stderr
    assert stored_rows(tmp_path / "run") == 2
    assert not (tmp_path / "o.jsonl").exists()


def test_two_shards_on_two_servers_merged_equal_one_unsharded_run(tmp_path, llama_server, second_llama_server):
    """The unsharded run and the two shards share pinned answers (tests/fault_proxy.py), so
    that equal files prove ditto's split and merge, not the servers' reproducibility."""
    source = write_chats(tmp_path / "in.jsonl", 8)
    common = ["-i", str(source), "--max-tokens", "10", "--temperature", "0.8", "--seed", "3", "--no-progress"]
    memory: dict = {}
    with FaultProxy(llama_server, memory=memory) as proxy:
        whole = ditto("generate", "--base-url", proxy.base_url, "-o", str(tmp_path / "whole.jsonl"),
                      "--run", str(tmp_path / "whole"), *common)
    assert whole.returncode == 0, whole.stderr
    shard_ids, shard_bodies = [], []
    for index, server in ((1, llama_server), (2, second_llama_server)):
        part = tmp_path / f"part{index}.jsonl"
        with FaultProxy(server, memory=memory) as proxy:
            result = ditto("generate", "--base-url", proxy.base_url, "-o", str(part),
                           "--run", str(tmp_path / f"shard{index}"), "--shard", f"{index}/2", *common)
        assert result.returncode == 0, result.stderr
        shard_ids.append([r["id"] for r in read_lines(part)])
        shard_bodies.append(proxy.bodies)
    assert sorted(shard_ids[0] + shard_ids[1]) == list(range(8)) and all(shard_ids)
    assert [len(b) for b in shard_bodies] == [len(i) for i in shard_ids]  # each shard sent its own only

    merged = ditto("merge", str(tmp_path / "merged"), str(tmp_path / "shard1"), str(tmp_path / "shard2"))
    assert merged.returncode == 0, merged.stderr
    with FaultProxy(llama_server) as proxy:
        final = ditto("generate", "--base-url", proxy.base_url, "-o", str(tmp_path / "merged.jsonl"),
                      "--run", str(tmp_path / "merged"), *common)
    assert final.returncode == 0, final.stderr
    assert proxy.posts == 0
    assert (tmp_path / "merged.jsonl").read_bytes() == (tmp_path / "whole.jsonl").read_bytes()


def test_dry_run_counts_requests_and_writes_nothing(tmp_path):
    source = write_chats(tmp_path / "in.jsonl", 5)
    result = ditto_in_process("generate", "-i", str(source), "-o", str(tmp_path / "out.jsonl"),
                              "--run", str(tmp_path / "run"), "--n", "2", "--max-tokens", "7", "--dry-run")
    assert result.returncode == 0, result.stderr
    row = next(line.split() for line in result.stdout.splitlines() if line.strip().startswith("generate"))
    assert row[1:3] == ["10", "10"] and row[4] == "70"
    assert int(row[3].replace(",", "")) > 10 * 8  # ten prompts of a dozen words each
    assert not (tmp_path / "run").exists() and not (tmp_path / "out.jsonl").exists()


def test_every_fault_on_the_way_gives_the_clean_result(tmp_path, llama_server):
    """429 with Retry-After, 500, a reset, a cut-off body, bad JSON, a stall past --timeout
    and an answer trickled out slower than --timeout: the output equals a clean run's."""
    source = write_chats(tmp_path / "in.jsonl", 3)
    common = ["-i", str(source), "--max-tokens", "10", "--temperature", "0.8", "--seed", "5", "--no-progress"]
    memory: dict = {}
    with FaultProxy(llama_server, memory=memory) as pinned:
        clean = ditto("generate", "--base-url", pinned.base_url, "-o", str(tmp_path / "clean.jsonl"),
                      "--run", str(tmp_path / "clean"), *common)
    assert clean.returncode == 0, clean.stderr
    # spread over the three requests (None: passed through), so that no request waits out a
    # long backoff: each is retried at most three times
    faults = ["429", "500", None, "reset", "truncate", None, "badjson", "stall", "trickle"]
    with FaultProxy(llama_server, faults, stall_seconds=8, trickle_seconds=0.05, memory=memory) as proxy:
        faulty = ditto("generate", "--base-url", proxy.base_url, "-o", str(tmp_path / "faulty.jsonl"),
                       "--run", str(tmp_path / "faulty"), "--timeout", "4", "--concurrency", "1", *common)
    assert faulty.returncode == 0, faulty.stderr
    assert (tmp_path / "faulty.jsonl").read_bytes() == (tmp_path / "clean.jsonl").read_bytes()
    injected = [f for f in faults if f]
    assert proxy.posts == len(injected) + 3
    assert f"{len(injected)} transient failures retried" in faulty.stderr
    for reason in ("HTTP 429", "HTTP 500", "malformed body", "deadline"):
        assert reason in faulty.stderr
