"""The cost of an evaluation before it runs: rollout, judge and MT-Bench requests from the
real eval items and judge templates, without a model. Answers not yet written count as
`max_tokens` long."""

from __future__ import annotations

from ditto.cost import TEMPLATE_TOKENS_PER_MESSAGE, StageEstimate, estimate_tokens
from ditto.evaluate.config import EvalConfig
from ditto.evaluate.judge import judge_prompt, judged_metrics
from ditto.evaluate.mtbench import graded_turns
from ditto.evaluate.records import METRICS, EvalItem


def estimate_evaluation(items: list[EvalItem], config: EvalConfig, prefix: str = "") -> list[StageEstimate]:
    answer = config.answer_params.max_tokens
    judge = config.judge
    rounds = judge.attempts
    rollout = StageEstimate(f"{prefix}rollout", 0, 0, 0, 0, note=f"{len(items)} dialogues")
    judging = StageEstimate(f"{prefix}judge", 0, 0, 0, 0,
                            note=f"{len(METRICS)} questions x {judge.n} samples per turn, {rounds - 1} re-asks")
    for item in items:
        system = estimate_tokens(item.system) + TEMPLATE_TOKENS_PER_MESSAGE
        history = 0
        for turn, prompt in enumerate(item.prompts):
            query = estimate_tokens(prompt) + TEMPLATE_TOKENS_PER_MESSAGE
            rollout.add(1, 1, system + history + query, answer)
            history += query + answer + TEMPLATE_TOKENS_PER_MESSAGE
            for metric in judged_metrics(item):
                judged = estimate_tokens(judge_prompt(metric, item, turn, "", judge.prompts_dir)) + answer
                judging.add(judge.n, judge.n * rounds, judged * judge.n * rounds, judge.max_tokens * judge.n * rounds)
    estimates = [rollout, judging]
    if config.mtbench_questions:
        mtbench = StageEstimate(f"{prefix}mt-bench", 0, 0, 0, 0, note=f"{len(config.mtbench_questions)} questions")
        for question in config.mtbench_questions:
            history = 0
            for turn, text in enumerate(question["turns"]):
                history += estimate_tokens(text) + TEMPLATE_TOKENS_PER_MESSAGE
                mtbench.add(1, 1, history, answer)  # the answer
                history += answer
                if turn in graded_turns(question):
                    mtbench.add(1, 1, history, judge.max_tokens)  # its grade, asked once (FastChat)
        estimates.append(mtbench)
    return estimates
