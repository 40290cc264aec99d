"""Judged turns and simulated sessions written by hand, for the annotation tests.

Three eval dialogues in two languages, with role-specific (rejection label 0) and
out-of-scope (1) turns, and one reply that tries to inject markup into the page."""

from __future__ import annotations

import json
from pathlib import Path

HOSTILE = '<img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script>'

CANDIDATES = ["[Sherlock Holmes] A fictional detective.", "[Ada Lovelace] A mathematician.",
              "[Napoleon] A French emperor.", "[Marie Curie] A physicist and chemist."]
ZH_CANDIDATES = ["【孙悟空】《西游记》中的猴王。", "【李白】唐代诗人。", "【诸葛亮】三国时期蜀汉丞相。",
                 "【林黛玉】《红楼梦》人物。"]


def judged_record(item_id: str, lang: str, label: str, candidates: list[str], prompts: list[str],
                  answers: list[str], labels: list[int]) -> dict:
    turns = len(prompts)
    sample = {"raw": "x", "value": 0}
    return {
        "id": item_id, "lang": lang, "label": label, "summary": f"{label}, as the profile says.",
        "system": f"You are {label}.", "prompts": prompts, "answers": answers, "candidates": candidates,
        "rejection_labels": labels, "evidence": [f"evidence {t}" for t in range(turns)],
        "consist_scores": [1.0] * turns, "reject_scores": [0] * turns, "knowledge_scores": [7.0] * turns,
        "judgements": [{"consistency": [sample], "rejection": [{"raw": "0", "value": 0}],
                        "knowledge": [{"raw": "7", "value": 7}]} for _ in range(turns)],
    }


RECORDS = [
    judged_record("en-1", "en", "Sherlock Holmes", CANDIDATES, ["Where do you live?", "What is a smartphone?"],
                  ["At 221B Baker Street.", HOSTILE], [0, 1]),
    judged_record("en-2", "en", "Ada Lovelace", CANDIDATES[1:] + CANDIDATES[:1],
                  ["What did you write about the Analytical Engine?", "Who won the 2018 World Cup?"],
                  ["Notes, with the first program.", "I cannot know that."], [0, 1]),
    judged_record("zh-1", "zh", "孙悟空", ZH_CANDIDATES, ["你住在哪里？", "什么是智能手机？"],
                  ["俺老孙住在花果山水帘洞！", "俺不知道。"], [0, 1]),
]


def write_judged_run(run_dir: Path) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "judged.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in RECORDS), encoding="utf-8")
    return run_dir


def session(session_id: str, lang: str, name: str, turns: list[tuple[str, str]]) -> dict:
    return {
        "id": session_id, "character_id": session_id.split("-")[0], "lang": lang, "name": name,
        "description": f"{name}, a character", "partner_id": "Q0",
        "turns": [{"query": q, "response": "...", "kind": kind, "query_owner_id": "Q1", "partner_id": "Q0",
                   "rejection_label": int(kind == "contrastive")} for q, kind in turns],
    }


SESSIONS = [
    session("Q1-en", "en", "Sherlock Holmes", [("Where is Baker Street?", "role_specific"),
                                               ("How do you compute a Bernoulli number?", "contrastive")]),
    session("Q2-en", "en", "Ada Lovelace", [("What is the Analytical Engine?", "role_specific"),
                                            ("Who is Dr Watson?", "contrastive")]),
    session("Q3-zh", "zh", "孙悟空", [("金箍棒有多重？", "role_specific"), ("什么是相对论？", "contrastive")]),
]


def write_simulate_run(run_dir: Path) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "sessions.jsonl").write_text(
        "".join(json.dumps(s, ensure_ascii=False) + "\n" for s in SESSIONS), encoding="utf-8")
    return run_dir
