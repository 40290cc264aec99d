"""The simulation stage's rules on a scripted teacher (tests/scripted.py), fast: replies cut
at the token limit, Chinese profiles without a Chinese introduction, the profile text budget
and the sampling settings every request carries. The stage on the real model is
test_simulate_end_to_end.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ditto.characters import Profile
from ditto.simulate.config import SimulateConfig
from ditto.simulate.run import simulate
from ditto.store import RunStore
from ditto.types import ChatRequest, Completion
from tests.scripted import ScriptedModel, last_user


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def english(key: str, summary: str = "") -> Profile:
    return Profile(
        id=f"Q-{key}", name=f"Person {key}", lang="en", description=f"figure {key}",
        claims=[f"occupation: trade {key}"], summary=summary or f"Person {key} lived in town {key}.",
    )


def chinese(key: str, summary: str) -> Profile:
    return Profile(id=f"Q-{key}", name=f"人物{key}", lang="zh", description=f"角色{key}",
                   claims=[f"职业：行当{key}"], summary=summary)


def answer(request: ChatRequest) -> str:
    """Three questions per query prompt (numbered by the pair's first name), else a reply."""
    if request.messages[0].role == "user":
        owner = re.search(r"(?:Name|姓名)[:：] *(.+)", request.messages[0].content).group(1)
        return json.dumps([f"{owner}: question {i}?" for i in range(3)], ensure_ascii=False)
    return f"In character: {last_user(request)}"


def turn_of(request: ChatRequest) -> tuple[str, int] | None:
    """(the character's name, the turn number) of a reply request; None for a query prompt."""
    system = request.messages[0]
    if system.role != "system":
        return None
    name = re.match(r"(?:You are |你是)([^.。]+)", system.content).group(1)
    return name, sum(m.role == "user" for m in request.messages)


class CuttingModel(ScriptedModel):
    """Its replies at the (character name, turn) pairs of `cut_at` end with finish_reason
    "length", as a backend reports a reply that reached max_tokens."""

    def __init__(self, cut_at: set[tuple[str, int]]) -> None:
        super().__init__(answer)
        self.cut_at = cut_at
        self.cut_replies: list[str] = []

    def generate(self, requests):
        for index, completion in super().generate(requests):
            if turn_of(requests[index]) in self.cut_at:
                completion = completion.model_copy(update={"finish_reason": "length"})
                self.cut_replies.append(completion.text)
            yield index, completion


def run_stage(tmp_path: Path, pool: list[Profile], model, **settings):
    config = SimulateConfig(**({"langs": ("en",), "turns": 3, "contrastive_share": 0.0} | settings))
    with RunStore(tmp_path / "run") as store:
        return simulate(pool, model, store, tmp_path / "run", config, progress=False)


POOL = [english(k) for k in "ABC"]


def test_a_reply_cut_at_max_tokens_ends_its_session_before_that_turn(tmp_path):
    model = CuttingModel({("Person A", 2), ("Person B", 1)})  # A's 2nd reply, B's 1st
    run_stage(tmp_path, POOL, model)
    run = tmp_path / "run"
    sessions = {s["character_id"]: s for s in read_jsonl(run / "sessions.jsonl")}
    assert len(sessions["Q-A"]["turns"]) == 1  # the cut turn and the one after it: gone
    assert "Q-B" not in sessions  # cut at its first turn: no session at all
    assert len(sessions["Q-C"]["turns"]) == 3
    assert all(t["finish_reason"] == "stop" for s in sessions.values() for t in s["turns"])
    assert not any(turn_of(r) == ("Person A", 3) for r in model.requests)  # A's session ended: not asked on

    sft = "\n".join(json.dumps(s, ensure_ascii=False) for s in read_jsonl(run / "sft.jsonl"))
    assert len(model.cut_replies) == 2
    for reply in model.cut_replies:
        assert reply not in sft
    stats = json.loads((run / "stats.json").read_text())
    assert stats["replies_cut_at_max_tokens"] == 2
    assert stats["session_failures"] == {"reply cut at max tokens": 2}
    assert stats["sessions"] == 2 and stats["sessions_failed"] == 1 and stats["sessions_cut_short"] == 1
    failures = {f["character_id"]: f for f in read_jsonl(run / "failures.jsonl")}
    assert failures["Q-A"]["reason"] == "reply cut at max tokens at turn 2" and failures["Q-A"]["turns_kept"] == 1
    assert failures["Q-B"]["cause"] == "reply cut at max tokens" and failures["Q-B"]["turns_kept"] == 0


def test_chinese_profiles_without_a_chinese_introduction_are_left_out_and_counted(tmp_path):
    pool = [
        chinese("甲", "人物甲是一位诗人。"), chinese("乙", "人物乙（英语：Person Yi）是画家。"),
        chinese("丙", "人物丙是将军。"),
        chinese("丁", ""),  # no introduction at all
        chinese("戊", "Wu (Chinese: 戊) was a poet of the old capital."),  # an English one
        english("A"), english("B"),
    ]
    model = ScriptedModel(answer)
    result = run_stage(tmp_path, pool, model, langs=("en", "zh"))
    asked = "\n".join(m.content for r in model.requests for m in r.messages)
    assert "人物丁" not in asked and "人物戊" not in asked  # neither character nor partner
    assert {s.character_id for s in result.sessions} == {"Q-甲", "Q-乙", "Q-丙", "Q-A", "Q-B"}
    assert result.stats["profiles_without_chinese_intro"] == 2
    failures = [f for f in read_jsonl(tmp_path / "run" / "failures.jsonl") if f["stage"] == "profiles"]
    assert sorted(f["character_id"] for f in failures) == ["Q-丁", "Q-戊"]
    assert {f["reason"] for f in failures} == {"no Chinese Wikipedia introduction"}


def test_the_command_line_says_what_was_cut_and_left_out(tmp_path, monkeypatch, capsys):
    from ditto.cli import main

    pool = [english("A"), english("B"), chinese("甲", "人物甲是诗人。"), chinese("乙", "人物乙是画家。"),
            chinese("丁", "")]
    pool_file = tmp_path / "pool.jsonl"
    pool_file.write_text("\n".join(p.model_dump_json() for p in pool) + "\n", encoding="utf-8")
    monkeypatch.setattr("ditto.cli.simulate.load_model", lambda *args: CuttingModel({("Person A", 1)}))
    with pytest.raises(SystemExit) as done:
        main(["simulate", "--characters", str(pool_file), "--run", str(tmp_path / "run"), "--turns", "2",
              "--contrastive-share", "0", "--no-progress"])
    assert done.value.code == 0
    line = " ".join(capsys.readouterr().err.split())  # as one line, whatever the terminal's width
    assert "1 sessions ended by a reply cut at --max-tokens" in line
    assert "1 Chinese profiles without a Chinese introduction left out" in line


def test_the_introduction_is_cut_by_tokens_not_characters(tmp_path):
    """1,000 tokens (estimated: no tokenizer here): a 3,000-character English introduction
    (about 800 tokens) is shown whole; a 1,600-character Chinese one (about 1,500 tokens) is
    cut at the last sentence end within 1,000 tokens."""
    from ditto.cost import estimate_tokens

    long_english = " ".join(f"Sentence number {i} of the English life story." for i in range(70))
    sentence = "人物甲在这座城市里生活了很多年。"
    long_chinese = sentence * 100
    assert len(long_english) > 3000 and len(long_chinese) == 1600
    pool = [english("A", long_english), english("B"), chinese("甲", long_chinese), chinese("乙", "人物乙是画家。")]
    model = ScriptedModel(answer)
    run_stage(tmp_path, pool, model, langs=("en", "zh"), turns=1)
    prompts = [r.messages[0].content for r in model.requests]
    assert any(long_english in p for p in prompts)
    chinese_system = next(p for p in prompts if p.startswith("你是人物甲"))
    shown = re.search(r"介绍：(.*)", chinese_system).group(1)
    assert long_chinese.startswith(shown) and shown.endswith("。")
    assert estimate_tokens(shown) <= 1000 < estimate_tokens(shown + sentence)


def test_the_teachers_own_tokenizer_sizes_the_introduction(tmp_path):
    """A backend with `count_tokens` (a local model) is asked; here one that counts every
    character as a token, so 40 tokens keep the first 40-character sentence only."""
    summary = "Person A was born in a small town by the sea. " * 3
    model = ScriptedModel(answer)
    model.count_tokens = len
    run_stage(tmp_path, [english("A", summary), english("B")], model, summary_tokens=50, turns=1)
    system = next(r.messages[0].content for r in model.requests if r.messages[0].role == "system")
    assert "Introduction: Person A was born in a small town by the sea.\n" in system + "\n"
    assert system.count("Person A was born") == 1


def test_the_article_body_is_shown_only_when_asked(tmp_path):
    article = ("Person A lived in town A.\n== Early life ==\nPerson A grew up by the river. "
               "They learnt the trade A from an uncle.\n== Later life ==\n" + "More about A. " * 400)
    profile = english("A").model_copy(update={"article": article})
    plain, with_article = ScriptedModel(answer), ScriptedModel(answer)
    run_stage(tmp_path / "plain", [profile, english("B")], plain, turns=1)
    run_stage(tmp_path / "article", [profile, english("B")], with_article, turns=1, with_article=True,
              article_tokens=100)
    assert not any("Early life" in m.content for r in plain.requests for m in r.messages)
    system = next(r.messages[0].content for r in with_article.requests if r.messages[0].role == "system")
    body = system.split("From the Wikipedia article:\n", 1)[1].split("\n\nStay in character", 1)[0]
    assert body.startswith("== Early life ==") and "Person A lived in town A." not in body  # no repeated intro
    assert body.endswith(".") and len(body) <= 4 * 100 + 4  # within the budget, at a sentence end


def test_every_request_carries_the_sampling_settings(tmp_path):
    model = ScriptedModel(answer)
    run_stage(tmp_path, POOL, model, turns=1, repetition_penalty=1.1, top_p=0.8, max_tokens=77)
    assert model.requests and {r.params.repetition_penalty for r in model.requests} == {1.1}
    assert {(r.params.top_p, r.params.max_tokens) for r in model.requests} == {(0.8, 77)}


def test_simulation_defaults_follow_the_paper_where_it_is_stated():
    config = SimulateConfig()
    assert config.max_tokens == 2048  # the paper's generation length
    assert config.repetition_penalty is None  # not sent: a server keeps its own default
    assert config.summary_tokens == 1000 and config.with_article is False


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_simulation_prompts_ask_for_no_length(lang):
    """The paper's prompts ask for neither short questions nor short answers."""
    from ditto.simulate.queries import query_prompt
    from ditto.simulate.sessions import response_system_prompt

    make = english if lang == "en" else (lambda k: chinese(k, f"人物{k}是诗人。"))
    a, b = make("A"), make("B")
    for text in (query_prompt(a, b, 3, None)[0].content, response_system_prompt(a, None)):
        for phrase in ("short", "brief", "few sentences", "concise", "简短", "几句", "简洁", "简要"):
            assert phrase not in text.lower(), (lang, phrase)


def test_a_zero_summary_budget_shows_no_introduction():
    from ditto.simulate.profile_text import ProfileText
    from ditto.simulate.sessions import response_system_prompt

    profile = english("A", "Person A lived long ago.")
    assert "Introduction:" not in response_system_prompt(profile, None, ProfileText(summary_tokens=0))
    assert "Introduction: Person A lived long ago." in response_system_prompt(profile, None)


def test_the_session_ender_reads_the_finish_reason():
    """The rule reads the backend's finish reason, as the backends report it."""
    from ditto.simulate.sessions import session_ender

    assert session_ender(Completion(text="Half a sen", finish_reason="length")) == "reply cut at max tokens"
    assert session_ender(Completion(text=" ", finish_reason="stop")) == "empty reply"
    assert session_ender(Completion(text="Done.", finish_reason="stop")) is None
