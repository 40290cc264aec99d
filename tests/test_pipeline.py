"""`ditto run` at a tiny size on the embedded model through the default (transformers)
backend: every stage runs for real and the report compares seed and tuned model."""

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def test_ditto_run_tiny(tmp_path):
    out = tmp_path / "run"
    args = [sys.executable, "-m", "ditto", "run", "--out", str(out), "--train-characters", "2",
            "--eval-characters", "1", "--turns", "2", "--max-tokens", "24", "--judge-n", "1", "--judge-max-tokens", "16",
            "--train-steps", "2", "--no-progress"]
    result = subprocess.run(args, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "report:" in result.stderr

    sft = [json.loads(line) for line in (out / "simulate" / "sft.jsonl").read_text().splitlines()]
    eval_set = [json.loads(line) for line in (out / "eval_set.jsonl").read_text().splitlines()]
    trained = {s["character_id"] for s in sft}
    assert sft and eval_set
    assert not trained & {item["meta"]["character_id"] for item in eval_set}, "eval characters must be held out"
    assert (out / "model" / "adapter_config.json").exists()

    seed_scores = json.loads((out / "eval-seed" / "scores.json").read_text())
    tuned_scores = json.loads((out / "eval-ditto" / "scores.json").read_text())
    for scores in (seed_scores, tuned_scores):
        assert set(scores["all"]) >= {"consistency", "knowledge", "rejection"}
    seed_answers = [json.loads(line)["answers"] for line in (out / "eval-seed" / "judged.jsonl").read_text().splitlines()]
    tuned_answers = [json.loads(line)["answers"] for line in (out / "eval-ditto" / "judged.jsonl").read_text().splitlines()]
    assert seed_answers != tuned_answers, "the tuned model must answer differently from the seed"

    report = (out / "report" / "report.md").read_text()
    assert "seed" in report and "ditto" in report
    assert (out / "report" / "report.html").stat().st_size > 1000
    [timings] = [json.loads(line) for line in (out / "timings.jsonl").read_text().splitlines()]
    assert list(timings["seconds"]) == ["simulate", "train", "eval build", "eval seed", "eval ditto", "report"]

    again = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert json.loads((out / "eval-ditto" / "scores.json").read_text()) == tuned_scores
    first, second = [json.loads(line) for line in (out / "timings.jsonl").read_text().splitlines()]
    assert first == timings and sum(second["seconds"].values()) < sum(first["seconds"].values())


def test_dry_run_prints_every_stage_and_writes_nothing(tmp_path):
    result = subprocess.run([sys.executable, "-m", "ditto", "run", "--out", str(tmp_path / "run"), "--dry-run",
                             "--train-characters", "3", "--eval-characters", "2", "--turns", "2", "--judge-n", "2"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    stages = [line.split(":")[0].strip() for line in result.stdout.splitlines() if ": " in line and "|" not in line]
    for stage in ("simulate", "train", "eval build", "eval seed", "eval ditto"):
        assert stage in stages
    def row(stage: str) -> list[str]:
        return next(line.split()[len(stage.split()):] for line in result.stdout.splitlines()
                    if line.strip().startswith(stage))

    assert row("eval seed: rollout")[:2] == ["4", "4"]  # 2 held-out characters x 2 turns
    assert row("eval ditto: judge")[:2] == ["24", "72"]  # 4 turns x 3 questions x n=2, 2 re-asks
    assert row("simulate: responses")[:2] == ["6", "6"]  # 3 training characters x 2 turns
    assert not (tmp_path / "run").exists()
