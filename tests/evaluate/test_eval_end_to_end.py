"""Eval build, rollout, judge and scoring end to end on the builtin model (served by
llama.cpp), for 2 held-out characters.

The build simulates two characters of the session's `simulated` run (tests/conftest.py) with
its settings, so it asks exactly what that run asked for them and answers every request from
a copy of its store: the build's files are made as on a fresh run, without the model's
minute of writing them again."""

import json
import shutil
import subprocess
import sys

import pytest

from ditto.characters import read_profiles, write_profiles
from tests.fault_proxy import FaultProxy
from tests.simulated_run import MAX_TOKENS, SEED

pytestmark = pytest.mark.slow


def ditto(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ditto", *args], capture_output=True, text=True, timeout=900)


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, llama_server, shared_data, simulated):
    root = tmp_path_factory.mktemp("eval")
    english = [p for p in read_profiles("builtin") if p.lang == "en"]
    write_profiles(root / "pool.jsonl", english)
    # held out: two characters the simulated run made a session for; trained: every other one
    simulated_ids = list(dict.fromkeys(s["character_id"] for s in read_jsonl(simulated["run"] / "sessions.jsonl")))
    held_out = set(simulated_ids[:2])
    trained = [p for p in english if p.id not in held_out]
    (root / "sft.jsonl").write_text("".join(
        json.dumps({"messages": [{"role": "user", "content": "hi"}], "character_id": p.id}) + "\n" for p in trained))
    questions = [json.loads(line) for line in (shared_data / "mt_bench" / "question.jsonl").open()]
    roleplay = [q for q in questions if q["category"] == "roleplay"][:2]
    (root / "mtbench.jsonl").write_text("".join(json.dumps(q) + "\n" for q in roleplay[:1] + questions[:1]))

    (root / "build").mkdir()
    shutil.copy(simulated["run"] / "store.sqlite", root / "build" / "store.sqlite")
    with FaultProxy(llama_server) as proxy:
        build = ditto("eval", "build", "--teacher", "builtin", "--teacher-base-url", proxy.base_url,
                      "--characters", str(root / "pool.jsonl"), "--exclude-train", str(root / "sft.jsonl"),
                      "--lang", "en", "--turns", "2", "--max-tokens", str(MAX_TOKENS), "--seed", str(SEED),
                      "--out", str(root / "eval.jsonl"), "--run", str(root / "build"), "--no-progress")
    assert build.returncode == 0, build.stderr
    run = ditto("eval", "run", "--model", "builtin", "--base-url", llama_server, "--judge", "builtin",
                "--judge-base-url", llama_server, "--eval", str(root / "eval.jsonl"), "--out", str(root / "run"),
                "--judge-n", "2", "--judge-max-reasks", "1", "--judge-max-tokens", "48", "--max-tokens", "24",
                "--mtbench", str(root / "mtbench.jsonl"), "--no-progress")
    assert run.returncode == 0, run.stderr
    return {"root": root, "trained": {p.id for p in trained}, "held_out": held_out,
            "build_stdout": build.stdout, "build_posts": proxy.model_posts()}


def test_eval_set_holds_only_held_out_characters(evaluated):
    items = read_jsonl(evaluated["root"] / "eval.jsonl")
    assert items and {item["meta"]["character_id"] for item in items} <= evaluated["held_out"]
    # the simulation of the same characters with the same settings asked all of it already
    assert evaluated["build_posts"] == 0
    assert f"refused {len(evaluated['trained'])} characters" in evaluated["build_stdout"]
    for item in items:
        meta = item["meta"]
        assert len(meta["role_consist_cands"]) == 4
        # the official form, `[Name] first sentence of the summary`, one of them the character
        assert all(c.startswith("[") and len(c) <= 160 for c in meta["role_consist_cands"])
        assert sum(c.startswith(f"[{meta['label']}]") for c in meta["role_consist_cands"]) == 1
        assert (
            len(item["prompts"]) == len(item["ref_messages"]) == len(meta["rejection_labels"]) == len(meta["evidence"])
        )
        assert item["system"].startswith(f"You are {meta['label']}")


def test_every_turn_is_answered_and_judged_with_raw_answers_kept(evaluated):
    judged = read_jsonl(evaluated["root"] / "run" / "judged.jsonl")
    items = read_jsonl(evaluated["root"] / "eval.jsonl")
    assert len(judged) == len(items)
    parsed = {"consistency": 0, "rejection": 0, "knowledge": 0}
    cut = dict(parsed)
    for record in judged:
        turns = len(record["prompts"])
        assert len(record["answers"]) == len(record["consist_scores"]) == len(record["reject_scores"]) == turns
        assert all(record["answers"])
        for turn, judgement in enumerate(record["judgements"]):
            for metric in parsed:
                samples = judgement[metric]
                assert len(samples) == 2 and all(s["raw"] for s in samples)
                # an answer that never parsed was asked 1 + --judge-max-reasks times
                assert all(s["attempts"] == 2 for s in samples if s["value"] is None)
                # an answer cut at --judge-max-tokens is never read as a verdict
                assert all(s["value"] is None for s in samples if s["cut"] == s["attempts"])
                cut[metric] += sum(s["cut"] for s in samples)
                parsed[metric] += sum(s["value"] is not None for s in samples)
            # each per-turn score is the official aggregation of its samples
            true = next(i for i, c in enumerate(record["candidates"]) if c.startswith(f"[{record['label']}]"))
            chosen = [s["value"] for s in judgement["consistency"] if s["value"] is not None]
            expected = sum(index == true for index in chosen) / len(chosen) if chosen else 0.0
            assert record["consist_scores"][turn] == expected
            scores = [s["value"] for s in judgement["knowledge"] if s["value"] is not None]
            assert record["knowledge_scores"][turn] == (sum(scores) / len(scores) if scores else None)
            votes = [s["value"] for s in judgement["rejection"] if s["value"] is not None]
            # the majority of two votes, a tie going to the first sample's: the first vote
            assert record["reject_scores"][turn] == (votes[0] if votes else None)
    # The llama.cpp server was probed and enforces schemas, so every verdict was asked as a JSON
    # object whose analysis is capped to fit the 48-token limit: each parsed sample was read
    # from a valid object, none from free text. Free-text parsing of whole answers is proved
    # with fixed verdicts in test_official_layout.py.
    assert sum(parsed.values()) > 0
    info = json.loads((evaluated["root"] / "run" / "run_info.json").read_text())
    assert info["judge_answers"]["answers_cut"] == cut and info["judge_answers"]["parsing"] == "tolerant"
    assert info["judge_answers"]["structured"] is True
    [probe] = info["judge_answers"]["structured_outputs"]["probes"]
    assert probe["enforced"] and probe["form"] == "json_object"
    [answers] = info["judge_answers"]["structured_outputs"]["answers"].values()
    assert answers["enforced"] == sum(parsed.values()) and answers["parsed_from_text"] == 0


def test_scores_file_matches_eval_score(evaluated):
    run = evaluated["root"] / "run"
    scores = json.loads((run / "scores.json").read_text())
    result = ditto("eval", "score", str(run / "judged.jsonl"), "--json")
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["all"] == {k: scores["all"][k] for k in ("consistency", "knowledge", "rejection")}
    info = json.loads((run / "run_info.json").read_text())
    assert info["judge_calls"] >= 2 * 3 * info["turns"]
    assert info["tokens"]["judge"]["completion"] > 0


def test_mtbench_roleplay_is_answered_over_two_turns_and_graded(evaluated):
    [record] = read_jsonl(evaluated["root"] / "run" / "mtbench.jsonl")  # only the role-play question
    assert record["category"] == "roleplay"
    assert len(record["answers"]) == len(record["turns"]) == 2
    assert len(record["scores"]) == len(record["judge_raw"]) == 2  # both turns graded, FastChat's way
    assert all(s is None or isinstance(s, float) for s in record["scores"]) and all(record["judge_raw"])


def test_rerun_sends_nothing(evaluated, llama_server):
    root = evaluated["root"]
    before = (root / "run" / "judged.jsonl").read_text()
    with FaultProxy(llama_server) as proxy:
        result = ditto("eval", "run", "--model", "builtin", "--base-url", proxy.base_url, "--judge", "builtin",
                       "--judge-base-url", proxy.base_url, "--eval", str(root / "eval.jsonl"),
                       "--out", str(root / "run"),
                       "--judge-n", "2", "--judge-max-reasks", "1", "--judge-max-tokens", "48", "--max-tokens", "24",
                       "--mtbench", str(root / "mtbench.jsonl"), "--no-progress")
    assert result.returncode == 0, result.stderr
    assert proxy.model_posts() == 0
    assert (root / "run" / "judged.jsonl").read_text() == before
