"""Every study at a tiny size on the builtin model, in one study folder, as the issue asks:
the builtin model served by llama.cpp, and the builtin model after its own Ditto fine-tuning
(the query-quality study trains it) as the second supervisor and the second seed model.

This checks that the machinery works (steps made once and shared, a killed study resumed,
shards merged, the figures and the paper's reading written); a 135M model on one held-out
character cannot show any effect, and the studies say so.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from ditto.chat_files import read_jsonl
from tests.fault_proxy import FaultProxy
from tests.reliability.test_crash_resume import kill_when

pytestmark = pytest.mark.slow

TINY = ["--train-characters", "2", "--eval-characters", "1", "--lang", "en", "--turns", "1", "--max-tokens", "1024",
        "--answer-max-tokens", "24", "--judge-n", "1", "--judge-max-tokens", "32", "--train-steps", "1",
        "--max-length", "128", "--no-progress"]
"""--max-tokens 1024: room for the tiny model's whole replies (a reply cut at the limit ends its
session); one training step on the opening of each reply is enough to make another model."""


def ditto(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ditto", *args], capture_output=True, text=True, timeout=1500)


def requests_in(folder: Path) -> int:
    with closing(sqlite3.connect(folder / "store.sqlite")) as db:
        return db.execute("SELECT COUNT(*) FROM requests").fetchone()[0]


def progress_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("[")]


@pytest.fixture(scope="module")
def study(tmp_path_factory, llama_server) -> dict:
    """query-quality, killed once its first cell is done and run again: its folder, and the
    builtin model's own Ditto fine-tuning (the 'all sessions' training) for the next studies."""
    out = tmp_path_factory.mktemp("study") / "out"
    served = f"builtin@{llama_server}"
    common = ["--judge", served, "--eval-teacher", served, "--out", str(out), *TINY]
    args = [sys.executable, "-m", "ditto", "study", "query-quality", "--seed-model", served, "--sample", "4", *common]
    kill_when(args, lambda: any(out.glob("eval/*/study_step.json")), out.parent / "killed.log")
    first = next(out.glob("eval/*/study_step.json")).parent
    stored = requests_in(first)
    result = ditto(*args[3:])
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads((out / "query-quality" / "study.json").read_text())
    tuned = next(cell for cell in record["cells"] if cell["labels"].get("data") == "all sessions")
    return {"out": out, "common": common, "served": served, "rerun": result, "first": first, "stored": stored,
            "record": record, "tuned": str(out / tuned["trained_folder"])}


def test_a_killed_study_resumes_without_redoing_a_finished_cell(study):
    lines = progress_lines(study["rerun"].stderr)
    assert len(lines) == 3 and "done before" in lines[0] and lines[0].startswith("[1/3] seed:")
    assert all("done before" not in line for line in lines[1:])
    assert requests_in(study["first"]) == study["stored"], "the finished cell asked nothing again"


def test_query_quality_rates_every_query_and_trains_on_the_valid_sessions_only(study):
    out, record = study["out"], study["record"]
    sessions = [s for _, s in read_jsonl(next(out.glob("simulate/*/sessions.jsonl")))]
    held_out = {item["meta"]["character_id"] for _, item in read_jsonl(next(out.glob("eval-set/*/eval_set.jsonl")))}
    in_training = {s["partner_id"] for s in sessions} | {s["character_id"] for s in sessions}
    assert held_out and not held_out & in_training, "no held-out character in the training data, not even as a partner"
    rated = [r for _, r in read_jsonl(next(out.glob("ratings/*/ratings.jsonl")))]
    assert sorted((r["session"], r["turn"]) for r in rated) == sorted(
        (s["id"], turn) for s in sessions for turn in range(len(s["turns"])))
    valid_sessions = {s["id"] for s in sessions} - {r["session"] for r in rated if r["valid"] is not True}
    assert record["sessions"] == len(sessions) and record["sessions_kept"] == len(valid_sessions)
    only_valid = next(c for c in record["cells"] if c["labels"]["data"] == "valid queries only")
    if valid_sessions:
        kept = {s["session_id"] for _, s in read_jsonl(next(out.glob("data/*/sft.jsonl")))}
        assert kept == valid_sessions and "scores" in only_valid
    else:
        assert only_valid["not_made"].startswith("no training sample is left in valid queries only")
    assert sum(record["validity"][kind]["rated"] + record["validity"][kind]["unparsed"]
               for kind in ("role_specific", "contrastive")) == min(4, len(rated))
    markdown = (out / "query-quality" / "study.md").read_text()
    assert "## Validity of the simulated queries" in markdown and "No query of the sample is labelled" in markdown
    assert "fewer than the 10 an interval needs" in markdown


@pytest.fixture(scope="module")
def cross(study) -> dict:
    served, tuned = study["served"], study["tuned"]
    result = ditto("study", "cross-supervision", "--supervisor", served, "--supervisor", tuned,
                   "--seed-model", served, "--seed-model", tuned, *study["common"])
    assert result.returncode == 0, result.stderr[-3000:]
    return {"result": result, "record": json.loads((study["out"] / "cross-supervision" / "study.json").read_text())}


def test_cross_supervision_on_two_supervisors_and_two_seeds(study, cross):
    out, record = study["out"], cross["record"]
    cells = record["cells"]
    assert [c["role"] for c in cells].count("imitation") == 4 and len(cells) == 8
    assert all("scores" in c for c in cells)
    for metric in ("consistency", "knowledge", "rejection"):
        points = record["figure5"][metric]
        assert len(points) == 4 and {p["cell"].count(" <- ") for p in points} == {1}
        assert (out / "cross-supervision" / "figures" / f"figure5_{metric}.png").stat().st_size > 10_000
    for claim in ("identity", "below", "bounded"):
        assert record["claims"][claim]["paper"] and record["claims"][claim]["ours"]
    assert record["claims"]["identity"]["ours"].startswith("undecided"), "one dialogue cannot decide anything"
    html = (out / "cross-supervision" / "study.html").read_text()
    assert html.count("data:image/png;base64,") == 3 and "The paper&#39;s reading and ours" in html


def test_studies_in_one_folder_make_each_shared_step_once(study, cross):
    out = study["out"]
    done_before = [line for line in progress_lines(cross["result"].stderr) if "done before" in line]
    # query-quality made the seed's answers before training and the seed trained on its own data;
    # the latter is also the second seed before training (the same model, named by its folder)
    assert len(done_before) == 3
    assert len(list(out.glob("eval-set/*"))) == 1, "one eval set for every study"
    assert len(list(out.glob("simulate/*"))) == 2, "the builtin model's data and the tuned model's"
    assert len(list(out.glob("models/*"))) == 2 + 3 - (0 if study["record"]["sessions_kept"] else 1)


def test_pool_size_and_ablation_reuse_the_shared_training(study, cross):
    common, served = study["common"], study["served"]
    pool = ditto("study", "pool-size", "--seed-model", served, "--fractions", "1/2,1", "--no-diversity", *common)
    assert pool.returncode == 0, pool.stderr[-3000:]
    lines = progress_lines(pool.stderr)
    assert len(lines) == 3 and "done before" in lines[0] and "done before" in lines[2] and "done before" not in lines[1]
    curves = json.loads((study["out"] / "pool-size" / "study.json").read_text())["curves"]["knowledge"]["nested pools"]
    assert [point["characters"] for point in curves] == [0.0, 1.0, 2.0]

    ablation = ditto("study", "ablation", "--vary", "queries", "--values", "1,3", "--seed-model", served, *common)
    assert ablation.returncode == 0, ablation.stderr[-3000:]
    lines = progress_lines(ablation.stderr)
    assert ["done before" in line for line in lines] == [True, False, True]  # seed; k=1 new; k=3 the default
    record = json.loads((study["out"] / "ablation-queries" / "study.json").read_text())
    assert list(record["values"]) == ["1", "3"]
    assert (study["out"] / "ablation-queries" / "figures" / "ablation_queries.png").is_file()


def test_shards_of_a_study_merge_into_the_unsharded_result(study, llama_server, tmp_path):
    """The cells without training, spread over two shards, merged, then finished on the
    merge: every answer comes from the shards' stores."""
    from ditto.pipeline import RunConfig
    from ditto.shard import Shard
    from ditto.study import cross_supervision
    from ditto.study.config import StudyConfig
    from ditto.study.models import ModelRef
    from ditto.study.run import StudyPlan, run_study
    from ditto.study.runner import StudyContext

    eval_set = next(study["out"].glob("eval-set/*/eval_set.jsonl"))
    with FaultProxy(llama_server) as proxy:
        served, tuned = ModelRef("builtin", proxy.base_url), ModelRef(study["tuned"])

        def run(out: Path, shard: Shard | None):
            settings = RunConfig(out=out, model="builtin", eval_set=eval_set, train_characters=2, eval_characters=1,
                                 langs=("en",), turns=1, answer_max_tokens=24, judge_n=1, judge_max_tokens=32)
            config = StudyConfig.create(out, settings, first_seed=served, judge=served, eval_teacher=served,
                                        default_writer=served, shard=shard)
            context = StudyContext(config)
            full = cross_supervision.study_plan(context, [served, tuned], [served])
            cells = [cell for cell in full.cells if cell.role != "imitation"]
            return run_study(StudyPlan(full.name, full.question, cells, full.analyse), context, progress=False), cells

        first, cells = run(tmp_path / "a", Shard(1, 2))
        second, _ = run(tmp_path / "b", Shard(2, 2))
        assert not set(first.results) & set(second.results)
        assert len(first.results) + len(second.results) == len(cells) == 3
        merged = ditto("merge", str(tmp_path / "c"), str(tmp_path / "a"), str(tmp_path / "b"))
        assert merged.returncode == 0, merged.stderr
        sent = proxy.posts
        final, _ = run(tmp_path / "c", None)
        assert proxy.posts == sent, "the merged study asked nothing"
    assert final.finished and len(final.results) == 3
    for key, result in final.results.items():
        shard_result = first.results.get(key) or second.results[key]
        assert result.run.scores["all"] == shard_result.run.scores["all"]
