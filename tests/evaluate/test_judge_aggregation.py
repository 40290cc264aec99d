"""How a turn's samples become its scores (paper semantics), with hand-made samples."""

from ditto.evaluate.judge import turn_scores
from ditto.evaluate.records import EvalItem, JudgeSample, TurnJudgement

ITEM = EvalItem(id="x", lang="en", label="Sherlock Holmes", system="", prompts=["q"],
                candidates=["[Li Bai] poet", "[Sherlock Holmes] detective", "[Hamlet] prince", "[Alice] girl"])


def samples(*values):
    return [JudgeSample(raw=str(v), value=v) for v in values]


def test_consistency_is_the_share_of_parsed_samples_choosing_the_true_candidate_by_position():
    judgement = TurnJudgement(consistency=samples(1, 0, None, 1))
    assert turn_scores(ITEM, judgement)[0] == 2 / 3


def test_rejection_is_the_majority_vote_ties_to_the_first_and_knowledge_the_mean():
    judgement = TurnJudgement(rejection=samples(1, 0, 1), knowledge=samples(7.0, None, 4.0))
    _, rejection, knowledge = turn_scores(ITEM, judgement)
    assert rejection == 1 and knowledge == 5.5
    assert turn_scores(ITEM, TurnJudgement(rejection=samples(0, 1)))[1] == 0
    assert turn_scores(ITEM, TurnJudgement(rejection=samples(1, 0)))[1] == 1


def test_nothing_parsed_scores_consistency_0_as_the_official_judge_and_leaves_the_rest_unknown():
    judgement = TurnJudgement(consistency=samples(None), rejection=samples(None), knowledge=samples(None))
    assert turn_scores(ITEM, judgement) == (0.0, None, None)
