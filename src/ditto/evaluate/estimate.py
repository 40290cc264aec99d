"""The cost of an evaluation before it runs: rollout, judge and MT-Bench requests from the
real eval items and judge templates, without a model. Answers not yet written count as
`max_tokens` long."""

from __future__ import annotations

from ditto.cost import TEMPLATE_TOKENS_PER_MESSAGE, StageEstimate, estimate_tokens
from ditto.evaluate.config import EvalConfig
from ditto.evaluate.judge import judge_prompt
from ditto.evaluate.records import METRICS, EvalItem


def estimate_evaluation(items: list[EvalItem], config: EvalConfig, prefix: str = "") -> list[StageEstimate]:
    answer = config.answer_params.max_tokens
    judge = config.judge
    rounds = 1 + judge.max_reasks
    rollout = StageEstimate(f"{prefix}rollout", 0, 0, 0, 0, note=f"{len(items)} dialogues")
    judging = StageEstimate(f"{prefix}judge", 0, 0, 0, 0,
                            note=f"{len(METRICS)} questions x {judge.n} samples per turn, {judge.max_reasks} re-asks")
    for item in items:
        system = estimate_tokens(item.system) + TEMPLATE_TOKENS_PER_MESSAGE
        history = 0
        for turn, prompt in enumerate(item.prompts):
            query = estimate_tokens(prompt) + TEMPLATE_TOKENS_PER_MESSAGE
            rollout.add(1, 1, system + history + query, answer)
            history += query + answer + TEMPLATE_TOKENS_PER_MESSAGE
            for metric in METRICS:
                judged = estimate_tokens(judge_prompt(metric, item, turn, "", judge.prompts_dir)) + answer
                judging.add(judge.n, judge.n * rounds, judged * judge.n * rounds, judge.max_tokens * judge.n * rounds)
    estimates = [rollout, judging]
    if config.mtbench_questions:
        mtbench = StageEstimate(f"{prefix}mt-bench", 0, 0, 0, 0, note=f"{len(config.mtbench_questions)} questions")
        for question in config.mtbench_questions:
            history = 0
            for text in question["turns"]:
                history += estimate_tokens(text) + TEMPLATE_TOKENS_PER_MESSAGE
                mtbench.add(1, 1, history, answer)  # the answer
                history += answer
                mtbench.add(1, rounds, history * rounds, judge.max_tokens * rounds)  # its grade
        estimates.append(mtbench)
    return estimates
