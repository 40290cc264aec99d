"""SIGKILL at seeded random points of each stage, then the same command again.

`ditto simulate`, `ditto eval run` and `ditto train` each run once uninterrupted, then again
in a fresh directory that is killed twice (kill, re-run, kill again, re-run to the end);
tests/test_cli_generate.py does the same for `ditto generate`. The kill points come from a
seeded RNG: a model stage is killed once its run store holds k committed results, training
once its log reaches step s. After the last re-run nothing is lost and nothing duplicated:
the store holds the uninterrupted run's rows, and the output files are its files byte for
byte (training: the same adapter weights, each step logged once).

Reproducible runs make "the same" checkable: the model is the builtin SmolLM2-135M served
by the real llama.cpp server (`llama_server`), greedy or seeded, behind a `FaultProxy` with a
memory, which pins each request to the server's first answer; training is seeded on CPU.
"""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from tests.fault_proxy import FaultProxy
from tests.train.conftest import DATA as TRAIN_DATA
from tests.train.conftest import ONE_THREAD

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def replay(llama_server) -> FaultProxy:
    """Every request answered as the server first answered it (see tests/fault_proxy.py),
    a repeat 0.15 s later, as from a slow server."""
    proxy = FaultProxy(llama_server, memory={}, repeat_delay=0.15).start()
    yield proxy
    proxy.close()


@pytest.fixture(scope="module")
def model_url(replay) -> str:
    return replay.base_url


def ditto_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "ditto", *args]


def run_ditto(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(ditto_command(*args), capture_output=True, text=True, env=env, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def stored_results(run_dir: Path) -> list[tuple]:
    """(key, request, text, finish_reason, tokens) of every committed result; [] before
    the store exists. Only an existing file is opened, so polling never creates one."""
    path = run_dir / "store.sqlite"
    if not path.exists():
        return []
    try:
        with closing(sqlite3.connect(path, timeout=5)) as db:
            return db.execute(
                "SELECT key, request, text, finish_reason, prompt_tokens, completion_tokens FROM requests"
            ).fetchall()
    except sqlite3.OperationalError:  # created, not yet migrated
        return []


def store_holds(run_dir: Path, count: int) -> Callable[[], bool]:
    return lambda: len(stored_results(run_dir)) >= count


def lock_holder(run_dir: Path) -> str:
    """The pid a ditto process wrote into the run directory's lock file once it got it."""
    try:
        return (run_dir / "lock").read_text().strip()
    except FileNotFoundError:
        return ""


def store_is_intact(run_dir: Path) -> bool:
    with closing(sqlite3.connect(run_dir / "store.sqlite")) as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def kill_when(command: list[str], ready: Callable[[], bool], log: Path, env: dict | None = None) -> None:
    """Start `command` and SIGKILL it the moment `ready()` holds; fail if it ends first."""
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 300
        while not ready():
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait()
                pytest.fail(f"ditto {command[3]} ended before its kill point:\n{log.read_text()[-3000:]}")
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL, "it finished before the kill landed"


def without_process_fields(value):
    """A stats or run-info record without what describes the process rather than the
    result: seconds taken and requests sent (a re-run sends only what was missing)."""
    if isinstance(value, dict):
        return {k: without_process_fields(v) for k, v in value.items() if k not in ("seconds", "endpoints")}
    return value


def assert_same_record(name: str, run_dir: Path, reference_dir: Path) -> None:
    record, expected = (json.loads((d / name).read_text()) for d in (run_dir, reference_dir))
    assert without_process_fields(record) == without_process_fields(expected)


def assert_outputs_whole(run_dir: Path, reference_dir: Path, names: tuple[str, ...]) -> None:
    """An output is absent or the finished one, never half-written."""
    for name in names:
        if (run_dir / name).exists():
            assert (run_dir / name).read_bytes() == (reference_dir / name).read_bytes(), name


def crash_twice_then_finish(
    args: list[str], run_dir: Path, reference_dir: Path, outputs: tuple[str, ...], seed: int,
    kill_after_writing: str | None = None,
) -> None:
    """Run `ditto *args`: SIGKILL it once its store holds k1 results, re-run it and kill it at
    k2 > k1, re-run it to the end. k1 and k2 are drawn with `seed` below the uninterrupted
    run's total. With `kill_after_writing`, the re-run after the second kill is killed too,
    the moment that output appears, while it writes the others."""
    reference = stored_results(reference_dir)
    total = len(reference)
    assert total >= 3, f"the uninterrupted run made {total} requests: too few to kill twice mid-run"
    rng = random.Random(seed)
    first = rng.randint(1, total - 2)
    second = rng.randint(first + 1, total - 1)
    stored: list[tuple] = []
    for number, target in enumerate((first, second)):
        target = max(target, len(stored) + 1)  # a re-run must commit something new
        kill_when(ditto_command(*args), store_holds(run_dir, target), run_dir.parent / f"killed-{number}.log")
        stored = stored_results(run_dir)
        assert target <= len(stored) < total, f"kill at {target} of {total} landed at {len(stored)}"
        assert set(stored) <= set(reference), "a killed run committed a result the uninterrupted run lacks"
        assert store_is_intact(run_dir)
        assert_outputs_whole(run_dir, reference_dir, outputs)

    if kill_after_writing:
        kill_when(ditto_command(*args), (run_dir / kill_after_writing).exists, run_dir.parent / "killed-writing.log")
        assert len(stored_results(run_dir)) == total
        assert_outputs_whole(run_dir, reference_dir, outputs)

    run_ditto(*args)
    stored = stored_results(run_dir)
    assert len(stored) == len({row[0] for row in stored}) == total
    assert sorted(stored) == sorted(reference)
    assert store_is_intact(run_dir)
    for name in outputs:
        assert (run_dir / name).read_bytes() == (reference_dir / name).read_bytes(), name


# ---- ditto simulate ------------------------------------------------------------------------

SMALL_POOL = [  # two short profiles keep every prompt short
    {"id": "t:holmes", "name": "Sherlock Holmes", "lang": "en", "description": "fictional detective in London",
     "claims": ["address: 221B Baker Street", "friend: Dr John Watson"], "category": "fictional",
     "summary": "Sherlock Holmes solves crimes by observation and deduction."},
    {"id": "t:curie", "name": "Marie Curie", "lang": "en", "description": "physicist and chemist",
     "claims": ["date of birth: 7 November 1867", "award received: Nobel Prize in Physics"], "category": "human",
     "summary": "Marie Curie studied radioactivity and discovered polonium and radium."},
]
SIMULATE_OUTPUTS = ("queries.jsonl", "sessions.jsonl", "failures.jsonl", "sft.jsonl", "sharegpt.json",
                    "hf_dataset/data-00000-of-00001.arrow")


@pytest.fixture(scope="module")
def small_pool(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pool") / "pool.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in SMALL_POOL))
    return path


def simulate_args(pool: Path, base_url: str, run: Path) -> list[str]:
    return ["simulate", "--base-url", base_url, "--characters", str(pool), "--limit", "1", "--lang", "en",
            "--turns", "2", "--max-tokens", "1024", "--temperature", "0.7", "--seed", "0", "--concurrency", "1",
            "--run", str(run), "--no-progress"]


@pytest.fixture(scope="module")
def simulate_reference(tmp_path_factory, small_pool, model_url) -> Path:
    run = tmp_path_factory.mktemp("simulate-reference") / "run"
    run_ditto(*simulate_args(small_pool, model_url, run))
    return run


def test_simulate_killed_twice_then_rerun_equals_an_uninterrupted_run(
    tmp_path, small_pool, model_url, simulate_reference
):
    """Killed after k1 and k2 answers, then while writing its files: the store ends with
    the uninterrupted run's answers, once each, and every file is the uninterrupted run's."""
    run = tmp_path / "run"
    crash_twice_then_finish(simulate_args(small_pool, model_url, run), run, simulate_reference,
                            SIMULATE_OUTPUTS, seed=1, kill_after_writing="queries.jsonl")
    assert_same_record("stats.json", run, simulate_reference)


# ---- ditto eval run ------------------------------------------------------------------------

EVAL_ITEM = {
    "id": "holmes-1",
    "system": "You are Sherlock Holmes, fictional detective in London.",
    "prompts": ["Where do you live?"],  # one turn: the judge's three questions and re-asks make ~8 requests
    "ref_messages": ["At 221B Baker Street."],
    "meta": {
        "label": "Sherlock Holmes", "lang": "en", "summary": "A detective who solves crimes by deduction.",
        "evidence": ["address: 221B Baker Street"],
        "role_consist_cands": ["Sherlock Holmes: detective", "Marie Curie: physicist", "Confucius: philosopher",
                               "Napoleon: emperor"],
        "rejection_labels": [0],
    },
}
EVAL_OUTPUTS = ("judged.jsonl", "scores.json")


@pytest.fixture(scope="module")
def eval_set(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("eval-set") / "eval.jsonl"
    path.write_text(json.dumps(EVAL_ITEM) + "\n")
    return path


def eval_args(eval_file: Path, base_url: str, out: Path) -> list[str]:
    return ["eval", "run", "--eval", str(eval_file), "--out", str(out), "--base-url", base_url,
            "--judge-base-url", base_url, "--judge-n", "1", "--judge-max-tokens", "16", "--max-tokens", "16",
            "--temperature", "0", "--seed", "0", "--concurrency", "1", "--no-progress"]


@pytest.fixture(scope="module")
def eval_reference(tmp_path_factory, eval_set, model_url) -> Path:
    out = tmp_path_factory.mktemp("eval-reference") / "run"
    run_ditto(*eval_args(eval_set, model_url, out))
    return out


def test_eval_run_killed_twice_then_rerun_equals_an_uninterrupted_run(
    tmp_path, eval_set, model_url, eval_reference
):
    """Killed after k1 and k2 answers (rollout, judge or re-ask): judged.jsonl and
    scores.json end as the uninterrupted run's, byte for byte."""
    out = tmp_path / "run"
    crash_twice_then_finish(eval_args(eval_set, model_url, out), out, eval_reference, EVAL_OUTPUTS, seed=2)
    assert_same_record("run_info.json", out, eval_reference)


def test_eval_run_through_every_fault_equals_the_clean_run(tmp_path, eval_set, replay, llama_server, eval_reference):
    """429, 500, a reset, a cut-off body, bad JSON, a stall and a trickle past --timeout,
    spread over the rollout and the judge: the same files as the clean run, and run_info.json
    says what was retried."""
    out = tmp_path / "run"
    faults = ["429", None, "500", "reset", None, "truncate", "badjson", None, "stall", "trickle"]
    with FaultProxy(llama_server, faults, stall_seconds=8, memory=replay.memory) as proxy:
        run_ditto(*eval_args(eval_set, proxy.base_url, out), "--timeout", "4")
    for name in EVAL_OUTPUTS:
        assert (out / name).read_bytes() == (eval_reference / name).read_bytes(), name
    endpoint = json.loads((out / "run_info.json").read_text())["endpoints"]["model"][proxy.base_url]
    assert endpoint["retried"] == len([f for f in faults if f]) and endpoint["failed"] == 0
    assert {"HTTP 429", "HTTP 500", "malformed body", "deadline"} <= set(endpoint["reasons"])


# ---- two processes, one run directory ----------------------------------------------------


def test_a_second_process_on_a_busy_run_directory_is_refused(
    tmp_path, small_pool, eval_set, replay, simulate_reference
):
    """While `ditto simulate` works in DIR, simulate, eval run and generate pointed at DIR
    each stop at once with one line naming the first process, which then finishes with the
    uninterrupted run's files: the refused ones touched nothing."""
    chats = tmp_path / "chats.jsonl"
    chats.write_text(json.dumps({"messages": [{"role": "user", "content": "Hello."}]}) + "\n")
    run, log = tmp_path / "run", tmp_path / "first.log"
    fast, replay.repeat_delay = replay.repeat_delay, 2.0  # the first process holds DIR for a while
    try:
        with log.open("w") as stderr:
            first = subprocess.Popen(ditto_command(*simulate_args(small_pool, replay.base_url, run)),
                                     stdout=subprocess.DEVNULL, stderr=stderr)
        deadline = time.monotonic() + 120
        while lock_holder(run) != str(first.pid) and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert lock_holder(run) == str(first.pid), log.read_text()[-3000:]
        seconds = [
            subprocess.Popen(ditto_command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for args in (
                simulate_args(small_pool, replay.base_url, run),
                eval_args(eval_set, replay.base_url, run),
                ["generate", "--base-url", replay.base_url, "-i", str(chats), "-o", str(tmp_path / "replies.jsonl"),
                 "--run", str(run), "--no-progress"],
            )
        ]
        refusals = [(process.wait(timeout=120), process.stderr.read()) for process in seconds]
        assert first.poll() is None, "the first process must still be running"
    finally:
        replay.repeat_delay = fast
    assert first.wait(timeout=120) == 0, log.read_text()[-3000:]
    expected = f"error: run directory {run} is in use by another ditto process (pid {first.pid})"
    for code, stderr in refusals:
        assert code == 2
        assert stderr.strip().splitlines() == [expected]
    assert not (tmp_path / "replies.jsonl").exists() and not (run / "judged.jsonl").exists()
    assert sorted(stored_results(run)) == sorted(stored_results(simulate_reference))
    for name in SIMULATE_OUTPUTS:
        assert (run / name).read_bytes() == (simulate_reference / name).read_bytes(), name


# ---- ditto train ---------------------------------------------------------------------------

TRAIN_STEPS = 7  # a checkpoint after every step: kills land in checkpoint saves too
TRAIN_SETTINGS = {"batch_size": 2, "max_length": 64, "lr": 1e-3, "seed": 42, "max_steps": TRAIN_STEPS, "save_steps": 1}


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, builtin_gguf) -> Path:
    """A randomly initialised 2-layer Llama with SmolLM2's tokenizer (as tests/train uses)."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(str(builtin_gguf.parent), gguf_file=builtin_gguf.name)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024, tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
    )
    directory = tmp_path_factory.mktemp("tiny-llama")
    LlamaForCausalLM(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def train_env() -> dict:
    import os

    return {**os.environ, **ONE_THREAD, "PYTHONUNBUFFERED": "1"}


def train_args(model: Path, output: Path, *extra: str) -> list[str]:
    options = [f"--{name.replace('_', '-')}={value}" for name, value in TRAIN_SETTINGS.items()]
    return ["train", "--model", str(model), "--data", str(TRAIN_DATA / "sft_small.jsonl"), "--output", str(output),
            *options, "--no-progress", *extra]


@pytest.fixture(scope="module")
def train_reference(tmp_path_factory, tiny_model) -> Path:
    """The uninterrupted run, in this process (on one thread, as the killed runs) to save
    a start-up; `train_args` gives the command line the same settings."""
    import torch

    from ditto.train import TrainConfig, train

    output = tmp_path_factory.mktemp("train-reference") / "out"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train(TrainConfig(model=str(tiny_model), data=TRAIN_DATA / "sft_small.jsonl", output=output,
                          progress=False, **TRAIN_SETTINGS))
    finally:
        torch.set_num_threads(threads)
    return output


def log_reaches(log: Path, step: int) -> Callable[[], bool]:
    """Whether train_log.jsonl holds `step`, written by a process started from now on: a
    resumed run first rewrites the log without the killed run's lines past its checkpoint,
    so lines are only trusted once the file changed after the start."""
    started = time.time_ns()

    def reached() -> bool:
        try:
            if log.stat().st_mtime_ns < started:
                return False
            lines = log.read_text().splitlines(keepends=True)
        except FileNotFoundError:
            return False
        return any(json.loads(line)["step"] >= step for line in lines if line.endswith("\n"))

    return reached


def complete_checkpoints(output: Path) -> list[int]:
    """Steps of the checkpoints written to the end (trainer_state.json is written last)."""
    return sorted(int(p.parent.name.split("-")[1]) for p in output.glob("checkpoint-*/trainer_state.json"))


def adapter_weights(output: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(output / "adapter_model.safetensors")


def cut_off(checkpoint: Path) -> None:
    """What a SIGKILL while the trainer writes a checkpoint leaves: the adapter saved, the
    optimizer state half-written, no RNG, scheduler or trainer state yet."""
    optimizer = checkpoint / "optimizer.pt"
    optimizer.write_bytes(optimizer.read_bytes()[: optimizer.stat().st_size // 2])
    for name in ("scheduler.pt", "rng_state.pth", "trainer_state.json"):
        (checkpoint / name).unlink(missing_ok=True)


def test_train_killed_twice_then_resumed_equals_an_uninterrupted_run(
    tmp_path, tiny_model, train_env, train_reference
):
    """Killed after its first checkpoint, resumed, killed again, resumed to the end: each
    step is logged once and the adapter is the uninterrupted run's, weight for weight."""
    import torch

    output = tmp_path / "out"
    rng = random.Random(3)
    # First kill after the first checkpoint; the second at least a checkpoint past where the
    # re-run resumed, so that two whole checkpoints are there when the newest is cut off.
    resumed_from = 0
    for number in range(2):
        target = rng.randint(resumed_from + 2, 3 if number == 0 else TRAIN_STEPS - 1)
        extra = ("--resume",) if number else ()
        kill_when(ditto_command(*train_args(tiny_model, output, *extra)),
                  log_reaches(output / "train_log.jsonl", target), tmp_path / f"killed-{number}.log", env=train_env)
        checkpoints = complete_checkpoints(output)
        assert checkpoints and checkpoints[-1] > resumed_from, f"killed at step {target}: {checkpoints}"
        assert checkpoints[-1] < TRAIN_STEPS, "the kill landed after the last checkpoint"
        resumed_from = checkpoints[-1]

    # The second kill moved into the newest checkpoint's save: resume must pass over it.
    assert len(checkpoints) == 2
    cut_off(output / f"checkpoint-{checkpoints[-1]}")
    resumed = run_ditto(*train_args(tiny_model, output, "--resume"), env=train_env)
    assert f"trained {TRAIN_STEPS} steps" in resumed.stderr

    log = [json.loads(line) for line in (output / "train_log.jsonl").read_text().splitlines()]
    expected = [json.loads(line) for line in (train_reference / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == list(range(1, TRAIN_STEPS + 1))  # each step once
    for record, reference in zip(log, expected):
        assert (record["epoch"], record["tokens"]) == (reference["epoch"], reference["tokens"])
        for name in ("loss", "lr", "grad_norm"):
            assert record[name] == pytest.approx(reference[name], rel=1e-6, abs=0), (record["step"], name)
    weights, reference = adapter_weights(output), adapter_weights(train_reference)
    assert weights.keys() == reference.keys()
    difference = max((weights[k] - reference[k]).abs().max().item() for k in weights)
    print(f"largest difference from the uninterrupted adapter: {difference:.3g}")
    for name in weights:
        assert torch.allclose(weights[name], reference[name], rtol=0, atol=1e-6), name
