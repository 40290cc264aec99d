"""`ditto eval stability`: position bias, test-retest and judge-judge agreement of the judge.

Scripted judges prove what each figure measures (a judge answering by position, one reading
the reply, a deterministic one, one answering at random) and that a re-run is answered from the
store; the command itself runs end to end on the builtin model served by llama.cpp."""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import Counter

import pytest

from ditto.errors import DittoError
from ditto.evaluate.config import JudgeConfig
from ditto.evaluate.judge import judge_items
from ditto.evaluate.records import EvalItem
from ditto.evaluate.stability import STABILITY_FILE, stability
from ditto.store import RunStore
from ditto.types import ChatRequest
from tests.in_process import ditto_in_process
from tests.scripted import ScriptedModel, last_user

NAMES = ["Sherlock Holmes", "Irene Adler", "John Watson", "Mycroft Holmes"]
CONFIG = JudgeConfig(n=1, max_tokens=64, max_reasks=0)


def eval_items(count: int = 6) -> tuple[list[EvalItem], list[list[str]]]:
    """Items whose true candidate stands at every position in turn; two answers each, the
    second a refusal, each naming its speaker."""
    items, answers = [], []
    for i in range(count):
        label = NAMES[i % len(NAMES)]
        candidates = NAMES[i % 2:] + NAMES[: i % 2]
        items.append(EvalItem(id=f"item{i}", lang="en", label=label, system=f"You are {label}.",
                              prompts=["Who are you?", "What is the date today?"],
                              candidates=[f"[{name}] A character." for name in candidates],
                              rejection_labels=[0, 1]))
        # every reply its own (items 0 and 4 share a label): a question asked twice is sent once
        answers.append([f"I am {label}, and {'x ' * i}that is all.", f"I am {label}; I will not say, {i}."])
    return items, answers


def candidates_of(prompt: str) -> list[str]:
    return re.findall(r"^- \[([^\]]+)\]", prompt, flags=re.MULTILINE)


def reply_of(prompt: str) -> str:
    """The judged answer inside a judge prompt (the knowledge prompt marks it its own way)."""
    for start, end in (("[Reply]\n[Start]\n", "\n[Finish]"), ("[Assistant's answer begins]\n", "\n[Assistant's")):
        if start in prompt:
            return prompt.split(start, 1)[1].split(end, 1)[0]
    raise AssertionError(f"no answer in {prompt!r}")


def scripted_judge(choose, name: str = "judge") -> ScriptedModel:
    """A judge answering the three questions: `choose(request, names)` names the speaker;
    rejection and knowledge are read from the reply, the same every time."""

    def answer(request: ChatRequest) -> str:
        prompt = last_user(request)
        if names := candidates_of(prompt):
            return f"Reasoning. The most suitable role is [{choose(request, names)}]."
        reply = reply_of(prompt)
        if "Decide whether the character declined" in prompt:
            return "1" if "will not" in reply else "0"
        return f"The analysis.\n{min(10, 1 + reply.count('x '))}"

    return ScriptedModel(answer, name=name)


def by_position(request: ChatRequest, names: list[str]) -> str:
    return names[0]


def by_character(request: ChatRequest, names: list[str]) -> str:
    reply = reply_of(last_user(request))
    return next(name for name in names if name in reply)


def at_random(request: ChatRequest, names: list[str]) -> str:
    material = f"{request.params.seed}|{request.sample_index}|{last_user(request)}"
    return random.Random(hashlib.sha256(material.encode()).hexdigest()).choice(names)


def judged_then_stability(tmp_path, choose, **kwargs):
    items, answers = eval_items()
    judge = scripted_judge(choose)
    with RunStore(tmp_path) as store:
        judged, _ = judge_items(judge, store, items, answers, CONFIG, progress=False)
        figures = stability(judge, store, judged, CONFIG, judge_name="scripted", progress=False, bootstrap=50,
                            **kwargs)
    return figures, judge, judged


def test_a_judge_answering_by_position_follows_the_position(tmp_path):
    figures, _, _ = judged_then_stability(tmp_path, by_position)
    bias = figures["position_bias"]
    assert bias["n"] == 12  # 6 items x 2 turns
    assert (bias["follows_character"], bias["follows_position"], bias["other"]) == (0.0, 1.0, 0.0)
    assert bias["ci"]["follows_character"] == [0.0, 0.0]


def test_a_judge_reading_the_reply_follows_the_character(tmp_path):
    figures, _, _ = judged_then_stability(tmp_path, by_character)
    bias = figures["position_bias"]
    assert (bias["follows_character"], bias["follows_position"], bias["other"], bias["n"]) == (1.0, 0.0, 0.0, 12)
    assert bias["ci"]["follows_character"] == [1.0, 1.0]


def test_position_bias_asks_consistency_alone_in_the_rotated_order(tmp_path):
    _, judge, _ = judged_then_stability(tmp_path, by_position)
    assert len(judge.requests) == 36 + 36 + 12  # the first judging, test-retest, consistency in the new order
    asked = [tuple(candidates_of(last_user(r))) for r in judge.requests if candidates_of(last_user(r))]
    once, twice, thrice = tuple(NAMES), tuple(NAMES[1:] + NAMES[:1]), tuple(NAMES[2:] + NAMES[:2])
    assert Counter(asked[:24]) == {once: 12, twice: 12}  # items alternate between two orders
    assert Counter(asked[24:]) == {twice: 6, thrice: 6}  # each rotated by one


def test_a_deterministic_judge_agrees_with_itself_on_retest(tmp_path):
    figures, judge, _ = judged_then_stability(tmp_path, by_character)
    retest = figures["test_retest"]
    assert retest["seed"] == CONFIG.seed + 1  # n 1, no re-asks: the first seed not used
    for metric in ("consistency", "rejection"):
        assert (retest[metric]["kappa"], retest[metric]["accuracy"], retest[metric]["n"]) == (1.0, 1.0, 12)
    assert retest["knowledge"]["spearman"] == retest["knowledge"]["qwk"] == 1.0
    seeds = {r.params.seed for r in judge.requests}
    assert seeds == {CONFIG.seed, CONFIG.seed + 1}  # the retest samples are fresh, not the cached ones


def test_a_judge_answering_at_random_agrees_less(tmp_path):
    figures, _, _ = judged_then_stability(tmp_path, at_random)
    consistency = figures["test_retest"]["consistency"]
    assert consistency["accuracy"] < 1.0 and consistency["kappa"] < 0.5
    bias = figures["position_bias"]
    assert bias["follows_character"] < 1.0 and bias["other"] > 0.0


def test_the_default_retest_seed_is_past_every_seed_the_first_judging_used(tmp_path):
    items, answers = eval_items(2)
    judge = scripted_judge(by_character)
    config = JudgeConfig(n=3, max_tokens=64, max_reasks=1, seed=5)
    with RunStore(tmp_path) as store:
        judged, _ = judge_items(judge, store, items, answers, config, progress=False)
        asked = len(judge.requests)
        figures = stability(judge, store, judged, config, judge_name="scripted", progress=False, bootstrap=0)
    # samples 0-2 with seeds 5-7; a re-ask would have been samples 3-5, seeds 8-10
    assert figures["test_retest"]["seed"] == 11
    assert {r.params.seed for r in judge.requests[:asked]} == {5, 6, 7}
    assert {r.params.seed for r in judge.requests[asked:]} == {5, 6, 7, 11, 12, 13}  # the rotated order: seeds 5-7


def test_a_second_judge_the_store_cannot_tell_apart_is_refused(tmp_path):
    items, answers = eval_items(1)
    judge, same = scripted_judge(by_character), scripted_judge(by_position)
    with RunStore(tmp_path) as store:
        judged, _ = judge_items(judge, store, items, answers, CONFIG, progress=False)
        with pytest.raises(DittoError, match="judge-judge agreement needs another model"):
            stability(judge, store, judged, CONFIG, judge_name="a", other_judge=same, progress=False)
    assert len(judge.requests) == 6 and not same.requests


def test_judge_judge_compares_a_second_judge_and_a_rerun_sends_nothing(tmp_path):
    items, answers = eval_items()
    judge, other = scripted_judge(by_character), scripted_judge(by_position, name="other")
    with RunStore(tmp_path) as store:
        judged, _ = judge_items(judge, store, items, answers, CONFIG, progress=False)
        first = stability(judge, store, judged, CONFIG, judge_name="scripted", other_judge=other,
                          other_judge_name="other", progress=False, bootstrap=50)
        sent = len(judge.requests), len(other.requests)
        again = stability(judge, store, judged, CONFIG, judge_name="scripted", other_judge=other,
                          other_judge_name="other", progress=False, bootstrap=50)
    assert (len(judge.requests), len(other.requests)) == sent and sent[1] == 3 * 12
    assert again == first
    pair = first["judge_judge"]
    assert pair["other_judge"] == "other"
    # the other judge names the first candidate, the character in items 0, 1, 4 and 5 of 6
    assert pair["consistency"]["accuracy"] == 0.6667 and pair["consistency"]["n"] == 12
    assert pair["rejection"]["kappa"] == 1.0 and pair["knowledge"]["spearman"] == 1.0


def test_the_layout_of_stability_json(tmp_path):
    figures, _, _ = judged_then_stability(tmp_path, by_character, other_judge=scripted_judge(at_random, "r"),
                                          other_judge_name="r", judged_file="run/judged.jsonl")
    assert_layout(figures, other=True)
    assert (figures["judge"], figures["judged_file"], figures["items"], figures["turns"]) == (
        "scripted", "run/judged.jsonl", 6, 12)
    without, _, _ = judged_then_stability(tmp_path / "plain", by_character)
    assert_layout(without, other=False)


def assert_layout(figures: dict, other: bool) -> None:
    assert list(figures) == ["judge", "judged_file", "items", "turns", "position_bias", "test_retest",
                             *(["judge_judge"] if other else [])]
    assert set(figures["position_bias"]) == {"permutation", "n", "follows_character", "follows_position", "other",
                                             "ci"}
    assert figures["position_bias"]["permutation"] == "rotate-1"
    assert set(figures["position_bias"]["ci"]) == {"follows_character"}
    parts = [("test_retest", "seed")] + ([("judge_judge", "other_judge")] if other else [])
    for part, own in parts:
        assert set(figures[part]) == {own, "consistency", "rejection", "knowledge"}
        for metric in ("consistency", "rejection"):
            assert set(figures[part][metric]) == {"kappa", "accuracy", "n", "ci"}
            assert set(figures[part][metric]["ci"]) == {"kappa", "accuracy"}
        assert set(figures[part]["knowledge"]) == {"spearman", "kendall", "qwk", "n", "ci"}
    json.dumps(figures, allow_nan=False)


def test_items_without_two_candidates_are_left_out_of_the_position_check(tmp_path):
    items, answers = eval_items(2)
    items.append(EvalItem(id="plain", lang="en", label="Nobody", system="You are Nobody.", prompts=["Hi"]))
    answers.append(["Hello."])
    judge = scripted_judge(by_character)
    with RunStore(tmp_path) as store:
        judged, _ = judge_items(judge, store, items, answers, CONFIG, progress=False)
        figures = stability(judge, store, judged, CONFIG, judge_name="scripted", progress=False, bootstrap=0)
    assert figures["position_bias"]["n"] == 4 and figures["turns"] == 5
    assert figures["test_retest"]["rejection"]["n"] == 5 and figures["test_retest"]["consistency"]["n"] == 4
    assert figures["position_bias"]["ci"]["follows_character"] is None  # no resample asked


def test_the_tables_show_every_figure(tmp_path):
    from rich.console import Console

    from ditto.cli.eval_stability import stability_tables

    figures, _, _ = judged_then_stability(tmp_path, by_character, other_judge=scripted_judge(by_position, "p"),
                                          other_judge_name="p")
    console = Console(width=160, record=True)
    for table in stability_tables(figures):
        console.print(table)
    text = console.export_text()
    assert "follows the character" in text and "Test-retest (seed 1" in text and "Judge against p" in text
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in text.splitlines() if "│" in line]
    assert ["follows the character", "1.0000", "[1.0000, 1.0000]", "12"] in rows


def test_bad_input_is_one_line(tmp_path):
    missing = ditto_in_process("eval", "stability", str(tmp_path / "missing.jsonl"))
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1
    assert "missing.jsonl" in missing.stderr
    items, answers = eval_items(1)
    record = items[0].model_dump() | {"answers": answers[0], "consist_scores": [1.0, 1.0],
                                      "reject_scores": [0, 1], "knowledge_scores": [5.0, 5.0]}
    scores_only = tmp_path / "judged.jsonl"
    scores_only.write_text(json.dumps(record) + "\n", encoding="utf-8")
    result = ditto_in_process("eval", "stability", str(scores_only))
    assert result.returncode == 2 and result.stderr.strip().splitlines() == [
        f"error: {scores_only}: no judge samples ('judgements'); agreement needs ditto's judged.jsonl"]


# End to end on the builtin model.

# The second judge: the same server under another model name (llama.cpp serves its one model
# by any name), which the store keeps apart from the first; a second model through the
# transformers backend costs this test 10-30 s more on two busy cores.
SECOND = "builtin-second"
JUDGE_SETTINGS = ("--judge-n", "1", "--judge-max-tokens", "48", "--judge-max-reasks", "0", "--no-progress")


@pytest.mark.slow
def test_stability_on_the_builtin_model_runs_end_to_end(tmp_path, llama_server):
    from tests.fault_proxy import FaultProxy

    items, answers = eval_items(1)  # one turn: three questions, asked again by each check
    responses = tmp_path / "responses.jsonl"
    responses.write_text("".join(
        json.dumps(item.model_dump() | {"answers": replies[:1], "prompts": item.prompts[:1], "rejection_labels": [0]})
        + "\n"
        for item, replies in zip(items, answers)), encoding="utf-8")
    run = tmp_path / "run"
    judged = ditto_in_process("eval", "judge", "--answers", str(responses), "--out", str(run), "--judge", "builtin",
                              "--judge-base-url", llama_server, *JUDGE_SETTINGS)
    assert judged.returncode == 0, judged.stderr
    command = ("eval", "stability", str(run / "judged.jsonl"), "--judge", "builtin", *JUDGE_SETTINGS,
               "--other-judge", SECOND, "--bootstrap", "50", "--json")
    first = ditto_in_process(*command, "--judge-base-url", llama_server, "--other-judge-base-url", llama_server)
    assert first.returncode == 0, first.stderr
    figures = json.loads(first.stdout)
    assert json.loads((run / STABILITY_FILE).read_text()) == figures  # beside judged.jsonl, for the report
    assert_layout(figures, other=True)
    assert (figures["items"], figures["turns"], figures["judge_judge"]["other_judge"]) == (1, 1, SECOND)
    assert figures["position_bias"]["n"] + figures["test_retest"]["rejection"]["n"] > 0
    assert figures["test_retest"]["knowledge"]["n"] + figures["judge_judge"]["knowledge"]["n"] > 0
    with FaultProxy(llama_server) as proxy:
        again = ditto_in_process(*command, "--judge-base-url", proxy.base_url, "--other-judge-base-url", proxy.base_url)
    assert again.returncode == 0, again.stderr
    assert proxy.model_posts() == 0 and json.loads(again.stdout) == figures
