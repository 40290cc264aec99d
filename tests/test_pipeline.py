"""`ditto run` at a tiny size on the embedded model: the seed model, teacher and judge served
by llama.cpp, training and the tuned model through transformers. Every stage runs for real,
a run killed after its last training checkpoint resumes with the same command, and a
re-run answers everything from the stores.

The choices of models and eval set (`--eval-set`, `--eval-teacher`, the self-evaluation
warnings) are tested on scripted models, with training stood in for: who is asked what,
which files are used, and what the report says, in seconds."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from ditto import pipeline
from ditto.characters import read_profiles
from ditto.characters.io import BUILTIN_POOL
from ditto.cli import main
from ditto.errors import DittoError
from ditto.evaluate.eval_sets import read_eval_set
from ditto.pipeline import RunConfig, run_ditto, self_evaluation_warnings, split_pool
from ditto.train.config import TrainConfig
from tests.reliability.test_crash_resume import kill_when
from tests.scripted import ScriptedModel

STAGES = ["simulate", "eval build", "train", "eval seed", "eval ditto", "report"]


def stored_rows(out: Path) -> dict[str, int]:
    counts = {}
    for store in sorted(out.glob("*/store.sqlite")):
        with closing(sqlite3.connect(store)) as db:
            counts[store.parent.name] = db.execute("SELECT COUNT(*) FROM requests").fetchone()[0]
    return counts


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.slow
def test_ditto_run_tiny_killed_after_its_last_checkpoint_resumes(tmp_path, llama_server):
    out = tmp_path / "run"
    args = [sys.executable, "-m", "ditto", "run", "--out", str(out), "--base-url", llama_server,
            "--train-characters", "2", "--eval-characters", "1", "--turns", "1", "--max-tokens", "1024",
            "--answer-max-tokens", "24", "--judge-n", "1", "--judge-max-tokens", "32", "--train-steps", "2",
            "--max-length", "256", "--no-progress"]
    # --max-length 256: training sees the opening of each reply (whole samples run to about 700 tokens);
    # resuming, skipping and the tuned model's answers do not depend on the length
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
                true = next(i for i, c in enumerate(record["candidates"]) if c.startswith(f"[{record['label']}]"))
                chosen = [s["value"] for s in judgement["consistency"] if s["value"] is not None]
                expected = sum(index == true for index in chosen) / len(chosen) if chosen else 0.0
                assert consistency == expected
    # At 32 tokens the tiny judge is mostly cut (never read as a verdict): run_info.json must
    # account for every sample and every cut answer the judged file holds.
    for name, judged in (("eval-seed", seed_judged), ("eval-ditto", tuned_judged)):
        accounted = json.loads((out / name / "run_info.json").read_text())["judge_answers"]
        for metric in ("consistency", "knowledge", "rejection"):
            samples = [s for r in judged for j in r["judgements"] for s in j[metric]]
            assert accounted["samples_unparsed"][metric] == sum(s["value"] is None for s in samples)
            assert accounted["answers_cut"][metric] == sum(s["cut"] for s in samples)
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


@pytest.mark.slow
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


# --- the eval set and the models that write and judge it, on scripted models ---------------

# Two builtin characters, one named only (as in the official set), one by id as well.
EVAL_SET = [
    {"id": "off-1", "lang": "en", "label": "Confucius", "system": "You are Confucius, a Chinese philosopher.",
     "prompts": ["What is virtue?", "What is a smartphone?"], "rejection_labels": [0, 1],
     "role_consist_cands": ["[Confucius] A philosopher.", "[Socrates] A philosopher.", "[Napoleon] An emperor.",
                            "[Lu Xun] A writer."]},
    {"id": "off-2", "lang": "en", "label": "Li Bai", "character_id": "curated:li-bai",
     "system": "You are Li Bai, a Tang poet.", "prompts": ["Do you like wine?"], "rejection_labels": [0],
     "role_consist_cands": ["[Li Bai] A poet.", "[Lu Xun] A writer.", "[Socrates] A philosopher.",
                            "[Napoleon] An emperor."]},
    {"id": "off-3", "lang": "zh", "label": "李白", "system": "你是李白。", "prompts": ["你喜欢喝酒吗？"],
     "rejection_labels": [0],
     "role_consist_cands": ["[李白] 诗人。", "[鲁迅] 作家。", "[拿破仑·波拿巴] 皇帝。", "[苏格拉底] 哲学家。"]},
]
TESTED = {"curated:confucius", "curated:li-bai"}


def write_eval_set(path: Path) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in EVAL_SET), encoding="utf-8")
    return path


def scripted_answer(request) -> str:
    """A query list when asked for one (JSON), a plain in-character reply otherwise."""
    if "json" in request.messages[-1].content.lower():
        return json.dumps(["Where do you live?", "What do you eat?", "Who are your friends?"])
    return "I live in a quiet house by the river, and I read every morning."


@pytest.fixture()
def scripted_run(monkeypatch):
    """`run_ditto` with every model scripted (one per name, so a test sees who was asked what)
    and training stood in for by a recorder of the config it was given."""
    import ditto.train.inputs

    models: dict[str, ScriptedModel] = {}
    trained: list[TrainConfig] = []

    def load(name, base_url=None, backend=None):
        return models.setdefault(name, ScriptedModel(scripted_answer, name))

    def train_unless_done(config: TrainConfig) -> bool:
        Path(config.output).mkdir(parents=True, exist_ok=True)
        trained.append(config)
        return True

    monkeypatch.setattr(pipeline, "load_model", load)
    monkeypatch.setattr(ditto.train.inputs, "train_unless_done", train_unless_done)

    def run(out: Path, **settings):
        config = RunConfig(out=out, train_characters=2, eval_characters=1, langs=("en",), turns=2, max_tokens=32,
                           judge_n=1, judge_max_tokens=32, progress=False, **settings)
        return run_ditto(config), models, trained

    return run


def test_a_given_eval_set_is_used_as_it_is_and_its_characters_are_not_trained(scripted_run, tmp_path):
    eval_file = write_eval_set(tmp_path / "wikiroleeval.jsonl")
    out = tmp_path / "run"
    result, models, trained = scripted_run(out, model="seed", judge="judge", eval_teacher="writer",
                                           eval_set=eval_file, recipe="paper", lr=1e-5)
    assert not (out / "eval-build").exists() and not (out / "eval_set.jsonl").exists()
    assert "writer" not in models, "with --eval-set nothing writes an eval set"
    assert "eval build" not in result.stage_seconds and result.directories["eval set"] == eval_file
    for label in ("seed", "ditto"):
        judged = read_jsonl(out / f"eval-{label}" / "judged.jsonl")
        assert [r["id"] for r in judged] == ["off-1", "off-2"]  # the zh item is outside --lang en
        assert json.loads((out / f"eval-{label}" / "run_info.json").read_text())["eval_file"] == str(eval_file)
    trained_on = {json.loads(line)["character_id"] for line in (out / "simulate" / "sft.jsonl").open()}
    assert trained_on and not trained_on & TESTED
    [config] = trained
    assert (config.recipe, config.lr) == ("paper", 1e-5)
    assert "Warning" not in (out / "report" / "report.md").read_text()  # a judge of its own, a set not its own


def test_the_eval_teacher_writes_the_eval_set_and_the_judge_is_flagged(scripted_run, tmp_path, capsys):
    out = tmp_path / "run"
    result, models, _ = scripted_run(out, model="seed", eval_teacher="writer")
    assert models["writer"].requests and models["writer"].closed
    assert read_jsonl(out / "eval_set.jsonl")
    [warning] = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert "judge is the seed model itself" in warning
    report = (out / "report" / "report.md").read_text()
    assert report.count("**Warning:**") == 1 and "judge is the seed model itself" in report


def test_self_evaluation_is_a_visible_escaped_warning_in_both_reports(scripted_run, tmp_path):
    out = tmp_path / "run"
    seed = "<img src=x onerror=alert(1)>"
    scripted_run(out, model=seed)
    markdown = (out / "report" / "report.md").read_text()
    html = (out / "report" / "report.html").read_text()
    assert markdown.count("> **Warning:**") == 2
    assert "the judge is the seed model itself (&lt;img src=x onerror=alert(1)&gt;)" in markdown
    assert "the eval set is written by the seed model itself" in markdown
    assert html.count('<p class="warning"><strong>Warning:</strong>') == 2
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and seed not in html


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({}, ["judge", "eval set"]),
        ({"judge": "gpt-4o"}, ["eval set"]),
        ({"judge": "m"}, ["judge", "eval set"]),  # naming the seed model as judge is still self-judging
        ({"teacher": "big"}, ["judge"]),  # the teacher writes the eval set too by default
        ({"teacher": "big", "eval_teacher": "m"}, ["judge", "eval set"]),
        ({"eval_teacher": "big", "judge": "gpt-4o"}, []),
        ({"eval_set": Path("wikiroleeval.jsonl")}, ["judge"]),
    ],
)
def test_self_evaluation_warnings(settings, expected):
    warnings = self_evaluation_warnings(RunConfig(model="m", **settings))
    about = {"the judge is the seed model itself": "judge", "the eval set is written by the seed model": "eval set"}
    assert [next(what for start, what in about.items() if w.startswith(start)) for w in warnings] == expected


def test_the_eval_sets_characters_are_left_out_of_the_training_split(tmp_path):
    pool = read_profiles(BUILTIN_POOL)
    items = read_eval_set(write_eval_set(tmp_path / "e.jsonl"))
    n_ids = len({p.id for p in pool})
    config = RunConfig(model="m", train_characters=n_ids - len(TESTED))
    train, held_out = split_pool(pool, config, items)
    assert held_out == [] and {p.id for p in train} == {p.id for p in pool} - TESTED
    with pytest.raises(DittoError, match="--characters: 42 characters outside --eval-set, fewer than 43 to train"):
        split_pool(pool, RunConfig(model="m", train_characters=n_ids - 1), items)


def test_dry_run_with_an_eval_set_estimates_its_items_and_no_eval_build(tmp_path, capsys):
    eval_file = write_eval_set(tmp_path / "e.jsonl")
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--dry-run", "--eval-set", str(eval_file), "--out", str(tmp_path / "run"), "--lang", "en,zh",
              "--judge", "gpt-4o"])
    assert exit_.value.code == 0
    captured = capsys.readouterr()
    assert "eval build" not in captured.out
    rollout = next(line.split() for line in captured.out.splitlines() if line.strip().startswith("eval seed: rollout"))
    assert rollout[3:5] == ["4", "4"]  # 2 + 1 + 1 turns of the file's three items, one request each
    assert "warning:" not in captured.err
    assert not (tmp_path / "run").exists()


def test_an_eval_set_without_an_item_in_the_runs_languages_is_one_line_and_exit_2(tmp_path, capsys):
    eval_file = tmp_path / "zh.jsonl"
    eval_file.write_text(json.dumps(EVAL_SET[2], ensure_ascii=False) + "\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--dry-run", "--eval-set", str(eval_file), "--lang", "en"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip() == f"error: --eval-set {eval_file}: no item in en (see --lang)"
