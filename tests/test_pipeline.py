"""`ditto run` at a tiny size on the embedded model: the seed model, teacher and judge served
by llama.cpp, training and the tuned model through transformers. Every stage runs for real,
a run killed after its last training checkpoint resumes with the same command, and a
re-run answers everything from the stores."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from tests.reliability.test_crash_resume import kill_when

pytestmark = pytest.mark.slow

STAGES = ["simulate", "eval build", "train", "eval seed", "eval ditto", "report"]


def stored_rows(out: Path) -> dict[str, int]:
    counts = {}
    for store in sorted(out.glob("*/store.sqlite")):
        with closing(sqlite3.connect(store)) as db:
            counts[store.parent.name] = db.execute("SELECT COUNT(*) FROM requests").fetchone()[0]
    return counts


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_ditto_run_tiny_killed_after_its_last_checkpoint_resumes(tmp_path, llama_server):
    out = tmp_path / "run"
    args = [sys.executable, "-m", "ditto", "run", "--out", str(out), "--base-url", llama_server,
            "--train-characters", "2", "--eval-characters", "1", "--turns", "2", "--max-tokens", "24",
            "--judge-n", "1", "--judge-max-tokens", "32", "--train-steps", "2", "--no-progress"]
    # 1. Killed the moment training's last checkpoint is complete, before the model is saved.
    checkpoint = out / "model" / "checkpoint-2" / "trainer_state.json"
    kill_when(args, checkpoint.exists, tmp_path / "killed.log")
    assert not (out / "model" / "ditto_train.json").exists(), "the kill came after training ended"

    # 2. The same command finishes the run from there.
    result = subprocess.run(args, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "report:" in result.stderr
    log = read_jsonl(out / "model" / "train_log.jsonl")
    assert [r["step"] for r in log] == [1, 2], "each training step once, none redone after the resume"
    record = json.loads((out / "model" / "ditto_train.json").read_text())
    assert record["steps"] == 2 and record["inputs"]["base_model"] == "builtin"

    sft = read_jsonl(out / "simulate" / "sft.jsonl")
    eval_set = read_jsonl(out / "eval_set.jsonl")
    assert sft and eval_set
    assert not {s["character_id"] for s in sft} & {item["meta"]["character_id"] for item in eval_set}, \
        "eval characters must be held out"

    seed_judged = read_jsonl(out / "eval-seed" / "judged.jsonl")
    tuned_judged = read_jsonl(out / "eval-ditto" / "judged.jsonl")
    assert [r["answers"] for r in seed_judged] != [r["answers"] for r in tuned_judged], \
        "the tuned model must answer differently from the seed"
    for judged in (seed_judged, tuned_judged):
        assert len(judged) == len(eval_set) and all(len(r["answers"]) == len(r["prompts"]) for r in judged)
        for record in judged:
            for judgement, consistency in zip(record["judgements"], record["consist_scores"]):
                for metric in ("consistency", "knowledge", "rejection"):
                    samples = judgement[metric]
                    assert len(samples) == 1  # --judge-n 1
                    # an answer that never parsed was asked the default 1 + 2 times
                    assert all(s["attempts"] == 3 for s in samples if s["value"] is None)
                named = [s["value"] for s in judgement["consistency"] if s["value"] is not None]
                expected = sum(name == record["label"] for name in named) / len(named) if named else 0.0
                assert consistency == expected
    verdicts = [s for r in seed_judged + tuned_judged for j in r["judgements"] for s in j["consistency"]]
    assert any(s["value"] is not None for s in verdicts), "even the tiny judge names a candidate now and then"
    seed_scores = json.loads((out / "eval-seed" / "scores.json").read_text())
    tuned_scores = json.loads((out / "eval-ditto" / "scores.json").read_text())
    for scores in (seed_scores, tuned_scores):
        overall = scores["all"]
        assert 0 <= overall["consistency"] <= 1 and 0 <= overall["rejection"] <= 1
        assert overall["turns"] == sum(len(item["prompts"]) for item in eval_set)

    report = (out / "report" / "report.md").read_text()
    for label in ("seed (builtin)", "ditto (model)"):
        assert label in report
    assert f"{seed_scores['all']['consistency']:.2f}" in report
    assert "<script" not in (out / "report" / "report.html").read_text().lower()
    [timings] = read_jsonl(out / "timings.jsonl")  # the killed run wrote none
    assert list(timings["seconds"]) == STAGES

    # 3. Run again: nothing is asked or trained again, and the scores are the same.
    rows = stored_rows(out)
    assert set(rows) == {"simulate", "eval-build", "eval-seed", "eval-ditto"} and all(rows.values())
    weights = (out / "model" / "adapter_model.safetensors").read_bytes()
    again = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert stored_rows(out) == rows, "a re-run must answer every request from the stores"
    assert "already trained on these inputs" in again.stderr
    assert (out / "model" / "adapter_model.safetensors").read_bytes() == weights
    assert json.loads((out / "eval-ditto" / "scores.json").read_text()) == tuned_scores
    assert len(read_jsonl(out / "timings.jsonl")) == 2


def test_dry_run_prints_every_stage_and_writes_nothing(tmp_path):
    result = subprocess.run([sys.executable, "-m", "ditto", "run", "--out", str(tmp_path / "run"), "--dry-run",
                             "--train-characters", "3", "--eval-characters", "2", "--turns", "2", "--judge-n", "2"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr

    def row(stage: str) -> list[str]:
        return next(line.split()[len(stage.split()):] for line in result.stdout.splitlines()
                    if line.strip().startswith(stage))

    assert row("simulate: queries")[:2] == ["6", "18"]  # 3 characters: 2 pairs each way, up to 3 attempts
    assert row("simulate: responses")[:2] == ["6", "6"]  # 3 training characters x 2 turns
    assert row("eval seed: rollout")[:2] == ["4", "4"]  # 2 held-out characters x 2 turns
    assert row("eval ditto: judge")[:2] == ["24", "72"]  # 4 turns x 3 questions x n=2, 2 re-asks
    assert row("train")[:2] == ["0", "0"]
    assert not (tmp_path / "run").exists()
