"""Structured outputs on the builtin model through transformers: query simulation and the
judge, under their schemas, with the real grammar engine."""

from __future__ import annotations

from ditto.characters.io import read_profiles
from ditto.evaluate.config import JudgeConfig
from ditto.evaluate.judge import judge_items
from ditto.evaluate.records import EvalItem
from ditto.simulate.queries import simulate_queries
from ditto.store import RunStore
from ditto.types import SamplingParams

# quotes, brackets, a backslash, JSON of its own, a newline: about 500 characters in all
HOSTILE = 'Dr. "Quote" [Bracket] \\ {"role":"x"}\nsecond line, ' + "and so on " * 46


def test_structured_query_simulation_parses_every_set_on_the_builtin_model(builtin_model, tmp_path):
    english = [p for p in read_profiles("builtin") if p.lang == "en"][:2]
    pairs = [(english[0], english[1]), (english[1], english[0])]
    with RunStore(tmp_path) as store:
        sets, usage, answers = simulate_queries(
            builtin_model, store, pairs, k=2, params=SamplingParams(max_tokens=160, temperature=0.7, top_p=0.95,
                                                                    seed=0),
            max_attempts=3, progress=False,
        )
    assert all(s.questions for s in sets), [s.raw for s in sets]
    assert all(s.method == "structured" for s in sets)
    counts = answers["local"]
    assert counts["violated"] == 0 and counts["parsed_from_text"] == 0
    assert counts["enforced"] == len(sets)  # every set read from its first answer


def test_a_hostile_candidate_name_gets_a_parsed_verdict_from_the_builtin_judge(builtin_model, tmp_path):
    candidates = ["[Li Bai] A Tang poet.", HOSTILE, "[Hamlet] A prince of Denmark.", "[Marie Curie] A physicist."]
    item = EvalItem(id="h1", lang="en", label=HOSTILE.strip(), summary="Someone with a strange name.",
                    system="You are someone.", prompts=["Who are you?"], candidates=candidates,
                    rejection_labels=[0], evidence=[""])
    config = JudgeConfig(n=1, max_tokens=320, max_reasks=0)
    with RunStore(tmp_path) as store:
        [judged], report = judge_items(builtin_model, store, [item], [["I am the one with the odd name."]], config,
                                       progress=False)
    assert report.structured
    [sample] = judged.judgements[0].consistency
    assert sample.value in range(4), sample.raw  # a candidate's index, read from a valid object
    assert report.structured_outputs["answers"]["local"]["violated"] == 0
    assert report.unparsed == {"consistency": 0, "knowledge": 0, "rejection": 0}
