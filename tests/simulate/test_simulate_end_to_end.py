"""`ditto simulate` end to end on the builtin model (SmolLM2-135M served by llama.cpp).

The tiny model writes poor text; the pipeline must still produce valid sessions or record
each failure, with counts in stats.json that agree with the files written.
"""

import json
from pathlib import Path

import pytest

from ditto.characters import read_profiles
from ditto.models.schema_probe import is_probe
from tests.fault_proxy import FaultProxy
from tests.simulated_run import FAULTS, MAX_TOKENS, SETTINGS, ditto

pytestmark = pytest.mark.slow


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# `simulated` (tests/conftest.py): the run these tests read, made once per session through
# transient faults (tests/simulated_run.py) and shared with the eval end-to-end tests.


def test_stats_agree_with_the_files(simulated):
    run = simulated["run"]
    stats = json.loads((run / "stats.json").read_text())
    sessions = read_jsonl(run / "sessions.jsonl")
    samples = read_jsonl(run / "sft.jsonl")
    failures = read_jsonl(run / "failures.jsonl")
    turns = [t for s in sessions for t in s["turns"]]
    assert stats["characters"] == 3
    assert stats["sessions"] == len(sessions) == len(samples)
    assert stats["sessions"] + stats["sessions_failed"] == 3
    assert stats["turns"] == len(turns)
    contrastive = sum(t["kind"] == "contrastive" for t in turns)
    assert stats["contrastive_share"] == pytest.approx(contrastive / len(turns), abs=1e-3)
    assert len(failures) == (stats["query_sets_failed"] + stats["sessions_failed"] + stats["sessions_cut_short"]
                             + stats["profiles_without_chinese_intro"])
    cut = [f for f in failures if f.get("cause") == "reply cut at max tokens"]
    assert stats["replies_cut_at_max_tokens"] == len(cut)
    assert stats["session_failures"].get("reply cut at max tokens", 0) == len(cut)
    assert all(t["finish_reason"] == "stop" for t in turns)  # no cut reply is ever kept
    assert 0 <= stats["parse_failure_rate"] < 1
    for stage in ("queries", "responses"):
        assert stats["stages"][stage]["completion_tokens"] > 0
    assert stats["sessions"] >= 2, "most characters should get a session even from the tiny model"
    # the probe found the server enforcing schemas in llama-cpp-python's form (after its 500s to
    # OpenAI's form); every query list was then read from a valid object
    [probe] = stats["structured_outputs"]["probes"]
    assert probe["enforced"] and probe["form"] == "json_object"
    [answers] = stats["structured_outputs"]["answers"].values()
    assert answers["violated"] == answers["parsed_from_text"] == 0
    assert answers["enforced"] == stats["query_sets"] - stats["query_sets_failed"]


def test_the_run_reports_what_it_retried(simulated):
    endpoint = simulated["stats_before"]["endpoints"][simulated["proxy_url"]]
    faults = [f for f in FAULTS if f]
    assert endpoint["retried"] == len(faults) and endpoint["failed"] == 0
    reasons = endpoint["reasons"]
    assert (reasons.pop("HTTP 429"), reasons.pop("HTTP 500"), reasons.pop("malformed body")) == (1, 1, 1)
    assert sum(reasons.values()) == 2  # the reset and the cut-off body, named by httpx's exception
    assert endpoint["sent"] == len(simulated["bodies"])


def test_sessions_are_well_formed(simulated):
    for session in read_jsonl(simulated["run"] / "sessions.jsonl"):
        assert 1 <= len(session["turns"]) <= 2
        assert (
            session["turns"][0]["kind"] == "role_specific" or all(t["kind"] == "contrastive" for t in session["turns"])
        )
        for turn in session["turns"]:
            assert turn["query"] and turn["response"]
            assert turn["rejection_label"] == (1 if turn["kind"] == "contrastive" else 0)
            assert turn["partner_id"] == session["partner_id"]
            if turn["kind"] == "contrastive":
                assert turn["query_owner_id"] == session["partner_id"] and turn["evidence"] == []
            else:
                assert turn["query_owner_id"] == session["character_id"]
        assert session["prompt_versions"]["query"].startswith("query_simulation@")


def test_sft_samples_keep_only_name_and_description(simulated):
    profiles = {(p.id, p.lang): p for p in read_profiles("builtin")}
    sessions = {s["id"]: s for s in read_jsonl(simulated["run"] / "sessions.jsonl")}
    for sample in read_jsonl(simulated["run"] / "sft.jsonl"):
        profile = profiles[(sample["character_id"], sample["lang"])]
        messages = sample["messages"]
        system = messages[0]
        assert system["role"] == "system"
        description = profile.description.rstrip(".。")
        expected = (
            f"You are {profile.name}, {description}."
            if profile.lang == "en"
            else f"你是{profile.name}，{description}。"
        )
        assert system["content"] == expected
        assert [m["role"] for m in messages[1:]] == ["user", "assistant"] * (len(messages) // 2)
        everything_but_replies = "\n".join(m["content"] for m in messages if m["role"] != "assistant")
        for claim in profile.claims:
            assert claim not in everything_but_replies
        assert profile.summary not in everything_but_replies
        session = sessions[sample["session_id"]]
        assert [m["content"] for m in messages[1::2]] == [t["query"] for t in session["turns"]]


def test_exports_hold_the_same_samples(simulated):
    import datasets

    run = simulated["run"]
    samples = read_jsonl(run / "sft.jsonl")
    sharegpt = json.loads((run / "sharegpt.json").read_text())
    assert len(sharegpt) == len(samples)
    assert [c["from"] for c in sharegpt[0]["conversations"]][:3] == ["system", "human", "gpt"]
    dataset = datasets.load_from_disk(str(run / "hf_dataset"))
    assert dataset.num_rows == len(samples)
    assert dataset[0]["messages"] == samples[0]["messages"]


def test_rerun_sends_nothing_and_writes_the_same_data(simulated):
    assert simulated["rerun_posts"] == 0
    rerun_stats = json.loads((simulated["run"] / "stats.json").read_text())
    assert rerun_stats["endpoints"] == {}  # a re-run answered from the store retried nothing
    assert (simulated["run"] / "sft.jsonl").read_bytes() == simulated["sft_before"]


def test_requests_sharing_a_profile_go_out_together(simulated):
    """Query prompts open with character A's profile: in the first round (one request per
    pair; retries form later rounds) all of A's requests are adjacent."""
    first_round = len(read_jsonl(simulated["run"] / "queries.jsonl"))
    openings = [body["messages"][0]["content"].split("\n", 4)[3] for body in simulated["bodies"][:first_round]]
    assert all(opening.startswith(("Name:", "姓名：")) for opening in openings)
    seen, previous = set(), None
    for opening in openings:
        if opening != previous:
            assert opening not in seen, "requests for one profile were split apart"
            seen.add(opening)
            previous = opening


def test_teacher_writes_the_data_not_the_student(simulated, tmp_path, llama_server):
    """Cross-supervision: --teacher writes the data; the student named by --model is never
    loaded or called (here it does not even exist). Same teacher and settings as the fixture,
    so every answer comes from a copy of its store."""
    import shutil

    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(simulated["run"] / "store.sqlite", run / "store.sqlite")
    with FaultProxy(llama_server) as proxy:
        result = ditto("simulate", "--model", "./student-not-downloaded-yet", "--teacher", "builtin",
                       "--teacher-base-url", proxy.base_url, "--characters", "builtin", "--limit", "3",
                       "--lang", "en", "--turns", "2", "--max-tokens", str(MAX_TOKENS), "--seed", "0",
                       "--run", str(run), "--no-progress")
    assert result.returncode == 0, result.stderr
    assert proxy.model_posts() == 0
    stats = json.loads((run / "stats.json").read_text())
    assert stats["teacher"] == "openai:builtin"
    assert (run / "sft.jsonl").read_bytes() == simulated["sft_before"]


def test_two_shards_merged_equal_the_unsharded_run(simulated, tmp_path, llama_server, second_llama_server):
    """Each shard on its own server and run directory, both sharing the reference run's
    pinned answers; `ditto merge` joins the stores; the unsharded command on the merged
    store sends nothing and writes the reference files. The reference went through faults,
    the shards did not: the files also show that faults change nothing."""
    sessions, bodies = {}, {}
    for index, server in ((1, llama_server), (2, second_llama_server)):
        with FaultProxy(server, memory=simulated["memory"]) as proxy:
            result = ditto("simulate", "--base-url", proxy.base_url, *SETTINGS,
                           "--run", str(tmp_path / f"shard{index}"), "--shard", f"{index}/2")
        assert result.returncode == 0, result.stderr
        sessions[index] = {s["id"] for s in read_jsonl(tmp_path / f"shard{index}" / "sessions.jsonl")}
        bodies[index] = {json.dumps(b, sort_keys=True) for b in map(json.loads, proxy.bodies) if not is_probe(b)}
    reference = read_jsonl(simulated["run"] / "sessions.jsonl")
    assert not sessions[1] & sessions[2]
    assert sessions[1] | sessions[2] == {s["id"] for s in reference}
    # together the shards asked exactly what the unsharded run asked
    assert bodies[1] | bodies[2] == {json.dumps(b, sort_keys=True) for b in simulated["bodies"]}

    merged = ditto("merge", str(tmp_path / "merged"), str(tmp_path / "shard1"), str(tmp_path / "shard2"))
    assert merged.returncode == 0, merged.stderr
    with FaultProxy(llama_server) as proxy:
        final = ditto("simulate", "--base-url", proxy.base_url, *SETTINGS, "--run", str(tmp_path / "merged"))
    assert final.returncode == 0, final.stderr
    assert proxy.model_posts() == 0
    for name in ("sft.jsonl", "sessions.jsonl", "queries.jsonl", "failures.jsonl"):
        assert (tmp_path / "merged" / name).read_bytes() == (simulated["run"] / name).read_bytes(), name


def test_dry_run_bounds_what_the_run_sent(simulated, tmp_path):
    from ditto.simulate.config import SimulateConfig
    from ditto.simulate.estimate import estimate_simulation

    result = ditto("simulate", *SETTINGS, "--run", str(tmp_path / "run"), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "queries" in result.stdout and "responses" in result.stdout
    assert not (tmp_path / "run").exists()

    stats = json.loads((simulated["run"] / "stats.json").read_text())
    config = SimulateConfig(limit=3, langs=("en",), turns=2, seed=0, max_tokens=MAX_TOKENS)
    queries, responses = estimate_simulation(read_profiles("builtin"), config)
    assert queries.requests == stats["query_sets"]  # first round: exactly one request per pair
    assert queries.requests <= stats["query_attempts"] <= queries.max_requests
    assert stats["turns"] <= responses.requests == 3 * 2
    sent = stats["stages"]
    assert sent["queries"]["completion_tokens"] <= queries.completion_tokens
    assert sent["responses"]["completion_tokens"] <= responses.completion_tokens
    # estimated, not counted: within a factor of two of the tokenizer's count per first-round prompt
    first_round_share = queries.requests / stats["query_attempts"]
    estimated_first_round = queries.prompt_tokens / config.max_attempts
    assert 0.5 < estimated_first_round / (sent["queries"]["prompt_tokens"] * first_round_share) < 2
