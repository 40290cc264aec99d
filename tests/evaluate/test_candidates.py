"""Consistency candidates in every form an eval set writes them, and the verdict compared by position."""

import json

import pytest

from ditto.errors import DittoError
from ditto.evaluate.candidates import candidate_line, candidate_name, split_candidate, true_candidate
from ditto.evaluate.eval_sets import read_eval_set
from ditto.evaluate.judge import turn_scores
from ditto.evaluate.records import EvalItem, JudgeSample, TurnJudgement

# As the official set writes them (the paper's Figure 3).
EDWARD = "[Edward III of England] Edward III (13 November 1312 – 21 June 1377), also known as Edward of Windsor"
OFFICIAL_EN = [
    "[Marie Curie] Marie Salomea Skłodowska-Curie was a Polish and naturalised-French physicist and chemist.",
    EDWARD,
    "[Li Bai] Li Bai was a Chinese poet acclaimed as one of the greatest poets of the Tang dynasty.",
    "[Hamlet] Prince Hamlet is the title character and protagonist of Shakespeare's tragedy Hamlet.",
]
OFFICIAL_ZH = [
    "[苏轼] 苏轼，字子瞻，号东坡居士，北宋文学家。",
    "【李白】李白，字太白，号青莲居士，唐代诗人。",
    "[杜甫] 杜甫，字子美，唐代现实主义诗人。",
    "[王维] 王维，字摩诘，唐代诗人、画家。",
]


@pytest.mark.parametrize(
    "line, name, summary",
    [
        (EDWARD, "Edward III of England", EDWARD.split("] ", 1)[1]),
        ("【李白】李白，字太白。", "李白", "李白，字太白。"),
        ("[李白]李白，字太白。", "李白", "李白，字太白。"),
        ("Sherlock Holmes: a detective", "Sherlock Holmes", "a detective"),
        ("夏洛克·福尔摩斯：侦探", "夏洛克·福尔摩斯", "侦探"),
        ("Hamlet - prince of Denmark", "Hamlet", "prince of Denmark"),
        ("Marie Curie", "Marie Curie", ""),
        # A bracketed name wins over a colon inside the summary.
        ("[Cato the Elder] Roman statesman: censor in 184 BC", "Cato the Elder", "Roman statesman: censor in 184 BC"),
    ],
)
def test_every_candidate_form_splits_into_name_and_summary(line, name, summary):
    assert split_candidate(line) == (name, summary)
    assert candidate_name(line) == name


def test_the_true_candidate_is_found_by_its_bracketed_name():
    assert true_candidate(OFFICIAL_EN, "Edward III of England", "f:1") == 1
    assert true_candidate(OFFICIAL_ZH, "李白", "f:1") == 1
    assert true_candidate(["Li Bai", "Du Fu", "Wang Wei", "Su Shi"], "Su Shi", "f:1") == 3
    assert true_candidate([], "anyone", "f:1") is None


def test_a_set_naming_the_label_in_no_line_or_in_two_is_refused_with_its_place():
    with pytest.raises(DittoError, match=r"eval\.jsonl:7: no consistency candidate is 'Edward III'"):
        true_candidate(OFFICIAL_EN, "Edward III", "eval.jsonl:7")
    with pytest.raises(DittoError, match=r"eval\.jsonl:3: 2 consistency candidates are 'Li Bai'"):
        true_candidate(["[Li Bai] poet", "Li Bai: also a poet", "[Du Fu] poet", "[Wang Wei] poet"], "Li Bai",
                       "eval.jsonl:3")


def test_reading_an_official_set_refuses_a_record_whose_label_is_no_candidate(tmp_path):
    good = {"prompts": ["q"], "meta": {"label": "李白", "lang": "zh", "role_consist_cands": OFFICIAL_ZH,
                                       "rejection_labels": [0]}}
    bad = json.loads(json.dumps(good))
    bad["meta"]["label"] = "李太白"
    path = tmp_path / "eval.jsonl"
    path.write_text(json.dumps(good, ensure_ascii=False) + "\n" + json.dumps(bad, ensure_ascii=False) + "\n")
    with pytest.raises(DittoError, match=r"eval\.jsonl:2: no consistency candidate is '李太白'"):
        read_eval_set(path)


def test_eval_build_writes_the_official_form_cut_near_150_characters():
    line = candidate_line("Edward III of England", EDWARD.split("] ", 1)[1] + ". He was King of England.")
    assert line.startswith("[Edward III of England] Edward III (13 November 1312")
    assert "King of England" not in line  # the first sentence only
    long = candidate_line("Ada Lovelace", "word " * 60 + "end.")
    assert long.startswith("[Ada Lovelace] word") and long.endswith(" ...") and len(long) <= 155
    assert candidate_line("孔子", "孔子，名丘，字仲尼。春秋时期思想家。") == "[孔子] 孔子，名丘，字仲尼。"
    assert candidate_line("Nobody", "") == "[Nobody]"
    assert split_candidate(line)[0] == "Edward III of England"


def samples(*values):
    return [JudgeSample(raw=str(v), value=v) for v in values]


@pytest.mark.parametrize("candidates, label", [(OFFICIAL_EN, "Edward III of England"), (OFFICIAL_ZH, "李白")])
def test_official_candidates_score_the_verdicts_that_name_the_character(candidates, label, judge_answers):
    """The defect this replaces: with `[Name] summary` lines the whole line was taken as the
    name, no verdict matched and consistency was 0 for every turn."""
    from ditto.evaluate.judge import _parser

    item = EvalItem(id="e", lang="zh" if label == "李白" else "en", label=label, system="", prompts=["q"],
                    candidates=candidates)
    parse = _parser("consistency", item, "tolerant")
    right, wrong = judge_answers[item.lang]
    chosen = [parse(right), parse(right), parse(wrong)]
    assert chosen == [1, 1, item.candidates.index(next(c for c in candidates if c.startswith(("[Li Bai]", "[杜甫]"))))]
    assert turn_scores(item, TurnJudgement(consistency=samples(*chosen)))[0] == pytest.approx(2 / 3)


@pytest.fixture
def judge_answers():
    """Verdicts naming a candidate by its bracketed name only, as a judge writes them."""
    return {
        "en": ("The reply speaks of Crécy and the Garter as its own deeds.\nThe most suitable role is "
               "[Edward III of England].",
               "The verses about moonlight and wine point to the Tang.\nThe most suitable role is [Li Bai]."),
        "zh": ("回复提到自己号青莲居士，并写到举杯邀明月。\n最符合的角色为[李白]",
               "回复提到草堂和安史之乱。\n最符合的角色为[杜甫]"),
    }


def test_drawn_candidates_are_those_of_the_definition():
    """The drawer makes each language's list once, yet draws exactly what the definition
    draws (a sample of three of the language's other characters, ordered by key, plus the
    character, shuffled), so eval sets built before it are built again the same."""
    import random

    from ditto.characters import read_profiles
    from ditto.evaluate.build import CandidateDrawer
    from ditto.evaluate.candidates import candidate_line
    from ditto.simulate.pairing import profile_key

    def definition(profile, pool, seed):
        others = sorted((p for p in pool if p.lang == profile.lang and p.id != profile.id), key=profile_key)
        rng = random.Random(f"{seed}:candidates:{profile_key(profile)}")
        chosen = rng.sample(others, 3) + [profile]
        rng.shuffle(chosen)
        return [candidate_line(p.name, p.summary or p.description) for p in chosen]

    builtin = read_profiles("builtin")
    copies = [p.model_copy(update={"id": f"{p.id}~{k}", "name": f"{p.name} {k}"}) for k in (1, 2, 3) for p in builtin]
    for pool in (builtin, builtin + copies, builtin + [builtin[5].model_copy(update={"name": "again"})]):
        drawer = CandidateDrawer(pool)
        for seed in (0, 7):
            assert [drawer.draw(p, seed) for p in pool] == [definition(p, pool, seed) for p in pool]
