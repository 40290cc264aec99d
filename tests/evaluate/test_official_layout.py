"""An official-layout WikiRoleEval file (fields under `meta`, `[Name] summary` candidates,
English and Chinese) through `eval run`, `eval judge` and `eval score`, against a scripted
OpenAI-compatible server whose verdicts are fixed in advance, so every expected score is
worked out by hand below. The verdicts are chosen where the two parsing modes disagree:
a bolded name, a labelled score, an answer cut at the token limit, "0." for "0"."""

from __future__ import annotations

import json

import pytest

from ditto.characters.io import write_profiles
from ditto.characters.profile import Profile
from tests.in_process import ditto_in_process
from tests.scripted_server import ScriptedServer

EN_CANDIDATES = [
    "[Li Bai] Li Bai was a Chinese poet of the Tang dynasty.",
    "[Edward III of England] Edward III (13 November 1312 – 21 June 1377), also known as Edward of Windsor",
    "[Marie Curie] Marie Curie was a Polish and naturalised-French physicist and chemist.",
    "[Hamlet] Prince Hamlet is the protagonist of Shakespeare's tragedy Hamlet.",
]
ZH_CANDIDATES = ["[苏轼] 北宋文学家。", "[李白] 李白，字太白，唐代诗人。", "[杜甫] 唐代诗人。",
                 "[王维] 唐代诗人、画家。"]
EN_QUESTIONS = ["Tell me about the Battle of Crécy.", "What do you make of the steam engine?"]
ZH_QUESTIONS = ["你最喜欢自己的哪一首诗？", "你怎么看待互联网？"]
RECORDS = [
    {"system": "You are Edward III of England, King of England from 1327 to 1377.", "prompts": EN_QUESTIONS,
     "ref_messages": ["We won at Crécy.", "I know no such engine."], "type": "roleplay", "source": "wiki",
     "meta": {"label": "Edward III of England", "lang": "en", "summary": "King of England from 1327.",
              "role_consist_cands": EN_CANDIDATES, "rejection_labels": [0, 1], "category": "human",
              "evidence": ["- participant in: Battle of Crécy", ""]}},
    {"system": "你是李白，唐代诗人。", "prompts": ZH_QUESTIONS, "ref_messages": ["《静夜思》。", "不知何物。"],
     "type": "roleplay", "source": "wiki",
     "meta": {"label": "李白", "lang": "zh", "summary": "唐代诗人。", "role_consist_cands": ZH_CANDIDATES,
              "rejection_labels": [0, 1], "category": "human", "evidence": ["- 代表作品：《静夜思》", ""]}},
]

# Each judge question's answer per sample (the judge's seed is 0, so sample s asks seed s);
# samples 3-5 are the re-asks of samples 0-2. (text, finish_reason) where it matters.
VERDICTS = {
    ("consistency", EN_QUESTIONS[0]): [
        "He speaks of his own victory in France.\nThe most suitable role is [Edward III of England].",
        "He speaks of the longbowmen.\nThe most suitable role is **Edward III of England**.",
        "Poetic.\nThe most suitable role is [Li Bai].",
    ],
    ("rejection", EN_QUESTIONS[0]): ["1", "Answer: 0", "0."],
    ("knowledge", EN_QUESTIONS[0]): ["Accurate.\n7", "Accurate.\nScore: 8", "Accurate.\n**9**"],
    ("consistency", EN_QUESTIONS[1]): ["Royal.\nThe most suitable role is [Edward III of England]."] * 3,
    ("rejection", EN_QUESTIONS[1]): ["1"] * 3,
    ("knowledge", EN_QUESTIONS[1]): [("It answers well.\n1", "length"), "Fine.\n6", "Fine.\nScore: 6", "Fine.\n6"],
    ("consistency", ZH_QUESTIONS[0]): [
        "提到静夜思。\n最符合的角色为[李白]", "豪放。\n最符合的角色为[李白]", "沉郁。\n最符合的角色为【杜甫】",
    ],
    ("rejection", ZH_QUESTIONS[0]): ["0"] * 3,
    ("knowledge", ZH_QUESTIONS[0]): ["正确。\n5"] * 3,
    ("consistency", ZH_QUESTIONS[1]): ["不知互联网。\n最符合的角色为[李白]。"] * 3,
    ("rejection", ZH_QUESTIONS[1]): ["1"] * 3,
    ("knowledge", ZH_QUESTIONS[1]): ["很好。\n10", "很好。\n评分：9", "很好。\n9"],
}
METRIC_MARKS = {"consistency": ("most suitable role", "最符合的角色"), "rejection": ("declined", "推辞"),
                "knowledge": ("[Tips begin]", "[参考信息开始]")}

# Worked out by hand from VERDICTS (per turn: EN 0, EN 1, ZH 0, ZH 1).
# tolerant: consistency 2/3, 1, 2/3, 1; rejection verdicts 0, 1, 0, 1 against labels 0, 1, 0, 1;
#   knowledge 8, 6 (the cut "1" is asked again and answers 6), 5, 28/3.
TOLERANT = {
    "all": {"consistency": 0.83, "knowledge": 7.08, "rejection": 1.0},
    "en": {"consistency": 0.83, "knowledge": 7.0, "rejection": 1.0},
    "zh": {"consistency": 0.83, "knowledge": 7.17, "rejection": 1.0},
}
# official: consistency 1/2 (bold unmatched), 1, 2/2 (【】 unmatched), 1; rejection verdicts 1 (only "1"
#   is exact), 1, 0, 1; knowledge: EN 0 and ZH 1 raise in int() (dropped), EN 1 = (1 + 6 + 6) / 3.
OFFICIAL = {
    "all": {"consistency": 0.88, "knowledge": 4.67, "rejection": 0.75},
    "en": {"consistency": 0.75, "knowledge": 4.33, "rejection": 0.5},
    "zh": {"consistency": 1.0, "knowledge": 5.0, "rejection": 1.0},
}


def reply(messages: list[dict], body: dict) -> str | tuple[str, str]:
    if "response_format" in body:  # the structured-output probe: this server ignores schemas
        return "Here is a JSON object: {}"
    if messages[0]["role"] == "system":  # the model under test
        return f"As I recall: {messages[-1]['content']}"
    prompt = messages[-1]["content"]
    metric = next(m for m, marks in METRIC_MARKS.items() if any(mark in prompt for mark in marks))
    question = next(q for q in EN_QUESTIONS + ZH_QUESTIONS if q in prompt)
    answers = VERDICTS[(metric, question)]
    return answers[body["seed"] % len(answers)]


def ditto(*args: str) -> tuple[int, str, str]:
    result = ditto_in_process(*args)
    return result.returncode, result.stdout, result.stderr


@pytest.fixture(scope="module")
def official(tmp_path_factory):
    root = tmp_path_factory.mktemp("official")
    (root / "eval.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in RECORDS))
    with ScriptedServer(reply) as server:
        yield root, server


def eval_run(root, server, out: str, *extra: str) -> dict:
    code, _, err = eval_run_output(root, server, out, *extra)
    assert code == 0, err
    return json.loads((root / out / "scores.json").read_text())


def eval_run_output(root, server, out: str, *extra: str) -> tuple[int, str, str]:
    return ditto("eval", "run", "--eval", str(root / "eval.jsonl"), "--out", str(root / out),
                         "--model", "tested", "--base-url", server.base_url, "--judge", "judge",
                         "--judge-base-url", server.base_url, "--no-progress", *extra)


def plain(scores: dict) -> dict:
    return {group: {m: scores[group][m] for m in ("consistency", "knowledge", "rejection")}
            for group in ("all", "en", "zh")}


def test_tolerant_parsing_reads_every_verdict_and_asks_again_after_a_cut_answer(official):
    root, server = official
    before = len(server.bodies)
    code, _, err = eval_run_output(root, server, "tolerant")
    assert code == 0, err
    scores = json.loads((root / "tolerant" / "scores.json").read_text())
    assert plain(scores) == TOLERANT
    # the judge was probed for schema enforcement, in both request forms, and seen to ignore
    # them: it got the paper's free-text prompts, and the notice says so
    probes = [b for b in server.bodies[before:] if "response_format" in b]
    assert [p["response_format"]["type"] for p in probes] == ["json_schema", "json_object"]
    assert "does not enforce JSON schemas" in err
    judge_bodies = [b for b in server.bodies[before:] if b["messages"][0]["role"] == "user" and b not in probes]
    assert len(judge_bodies) == 3 * 3 * 4 + 1  # three questions x three samples x four turns, one re-ask
    assert not any("JSON object" in b["messages"][0]["content"] for b in judge_bodies)
    assert all(b["max_tokens"] == 2048 and b["temperature"] == 0.2 for b in judge_bodies)  # the paper's judge
    info = json.loads((root / "tolerant" / "run_info.json").read_text())
    assert info["judge_answers"]["answers_cut"] == {"consistency": 0, "rejection": 0, "knowledge": 1}
    assert info["judge_answers"]["structured"] is False
    [probe] = info["judge_answers"]["structured_outputs"]["probes"]
    assert probe["endpoint"] == server.base_url and probe["enforced"] is False and probe["form"] is None
    code, out, _ = ditto("eval", "score", str(root / "tolerant" / "judged.jsonl"), "--json")
    assert code == 0 and json.loads(out) == TOLERANT


def test_official_parsing_reproduces_the_released_rules_and_counts_what_they_would_drop(official):
    root, server = official
    scores = eval_run(root, server, "official", "--parsing", "official")
    assert plain(scores) == OFFICIAL
    info = json.loads((root / "official" / "run_info.json").read_text())
    assert info["judge_answers"]["official_dropped_turns"] == {"rejection": 0, "knowledge": 2}
    judged = [json.loads(line) for line in (root / "official" / "judged.jsonl").read_text().splitlines()]
    assert judged[0]["knowledge_scores"] == [None, pytest.approx(13 / 3)]  # the dialogue is kept
    assert all(s["attempts"] == 1 for r in judged for j in r["judgements"] for m in j.values() for s in m)


def test_judging_existing_responses_gives_the_scores_of_the_run_that_wrote_them(official):
    root, server = official
    responses = []
    for record in RECORDS:  # the official response layout: the record plus `messages` with the replies
        messages = [{"role": "system", "content": record["system"]}]
        for prompt in record["prompts"]:
            messages += [{"role": "user", "content": prompt},
                         {"role": "assistant", "content": f"As I recall: {prompt}"}]
        responses.append(dict(record, messages=messages, id="same"))  # ids may repeat in a user's file
    (root / "responses.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in responses))
    before = len(server.bodies)
    code, _, err = ditto("eval", "judge", "--answers", str(root / "responses.jsonl"), "--out", str(root / "judged"),
                         "--judge", "judge", "--judge-base-url", server.base_url, "--no-progress")
    assert code == 0, err
    assert all(b["messages"][0]["role"] == "user" for b in server.bodies[before:])  # nothing generated
    assert plain(json.loads((root / "judged" / "scores.json").read_text())) == TOLERANT
    judged = [json.loads(line) for line in (root / "judged" / "judged.jsonl").read_text().splitlines()]
    assert [r["answers"] for r in judged] == [[f"As I recall: {p}" for p in r["prompts"]] for r in RECORDS]
    # a ditto run's judged.jsonl is an answers file too: judged again under the official rules
    code, _, err = ditto("eval", "judge", "--answers", str(root / "judged" / "judged.jsonl"), "--out",
                         str(root / "rejudged"), "--judge", "judge", "--judge-base-url", server.base_url,
                         "--parsing", "official", "--no-progress")
    assert code == 0, err
    assert plain(json.loads((root / "rejudged" / "scores.json").read_text())) == OFFICIAL


def test_a_response_file_whose_replies_do_not_match_its_prompts_is_one_line_and_exit_2(official, tmp_path):
    root, server = official
    bad = dict(RECORDS[0], messages=[{"role": "user", "content": EN_QUESTIONS[0]},
                                     {"role": "assistant", "content": "Crécy."}])
    (tmp_path / "bad.jsonl").write_text(json.dumps(bad) + "\n")
    code, _, err = ditto("eval", "judge", "--answers", str(tmp_path / "bad.jsonl"), "--out", str(tmp_path / "o"),
                         "--judge", "judge", "--judge-base-url", server.base_url)
    assert code == 2 and err.count("\n") == 1
    assert f"{tmp_path / 'bad.jsonl'}:1: the user turns of 'messages' are not the record's prompts" in err


def test_with_profile_answers_under_the_full_profile_prompt(official, tmp_path):
    root, server = official
    profiles = [
        Profile(id="Q129247", name="Edward III of England", lang="en", description="King of England",
                claims=["participant in: Battle of Crécy"], summary="Edward III was King of England from 1327."),
        Profile(id="Q7071", name="李白", lang="zh", description="唐代诗人", claims=["代表作品：《静夜思》"],
                summary="李白，字太白。"),
    ]
    write_profiles(tmp_path / "profiles.jsonl", profiles)
    before = len(server.bodies)
    eval_run(root, server, "supervised", "--with-profile", "--characters", str(tmp_path / "profiles.jsonl"))
    systems = {b["messages"][0]["content"] for b in server.bodies[before:] if b["messages"][0]["role"] == "system"}
    assert len(systems) == 2
    assert any("participant in: Battle of Crécy" in s and "Edward III was King of England" in s for s in systems)
    assert any("代表作品：《静夜思》" in s for s in systems)
    info = json.loads((root / "supervised" / "run_info.json").read_text())
    assert info["with_profile"] is True
    code, _, err = ditto("eval", "run", "--eval", str(root / "eval.jsonl"), "--out", str(tmp_path / "x"),
                         "--with-profile", "--model", "m", "--base-url", server.base_url)
    assert code == 2 and "--with-profile needs --characters" in err


def test_a_users_own_judge_wording_is_sent_through_prompts_dir(official, tmp_path):
    """How a user runs the official wording: templates of the same names in --prompts DIR;
    the ones not given fall back to ours."""
    root, server = official
    (tmp_path / "mine" / "en").mkdir(parents=True)
    (tmp_path / "mine" / "en" / "judge_rejection.j2").write_text(
        "MY WORDING for {{ label }}: declined?\n[Q] {{ query }}\n[A] {{ answer }}\nReply 1 or 0.")
    before = len(server.bodies)
    eval_run(root, server, "own-prompts", "--prompts", str(tmp_path / "mine"), "--limit", "1")
    prompts = [b["messages"][-1]["content"] for b in server.bodies[before:] if b["messages"][0]["role"] == "user"]
    assert sum(p.startswith("MY WORDING for Edward III of England: declined?") for p in prompts) == 3 * 2
    assert sum("[Tips begin]" in p for p in prompts) == 3 * 2 + 1  # knowledge: still ours (+ the cut re-ask)


def test_answers_carry_top_p_and_repetition_penalty_and_the_judge_none(official):
    root, server = official
    before = len(server.bodies)
    eval_run(root, server, "penalised", "--top-p", "0.8", "--repetition-penalty", "1.1", "--limit", "1")
    answers = [b for b in server.bodies[before:] if b["messages"][0]["role"] == "system"]
    judged = [b for b in server.bodies[before:] if b["messages"][0]["role"] == "user"]
    assert answers and all(b["top_p"] == 0.8 and b["repetition_penalty"] == 1.1 for b in answers)
    assert judged and all("repetition_penalty" not in b for b in judged)
