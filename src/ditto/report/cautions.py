"""The warnings that open the report, above every number: a run whose judge is the tested model.

A model judging its own answers flatters them, so no score of such a run should be read
without the warning. The report finds these runs itself, from each run_info.json (the judge's
name equal to the model's), so `ditto report` on any folders warns as `ditto run` does. A
caller that already warned about the same model (`ditto run` says "the seed model" where the
report can only say "the tested model") is not repeated: both wordings come from
`self_judge_warning`, and a caller's warning ending as it ends for a run's model covers that run.
"""

from __future__ import annotations

from collections.abc import Sequence

from ditto.report.collect import Run

SELF_JUDGING = "self-judging inflates the scores (the paper's judge was GPT-4); pass --judge a stronger model"


def self_judge_warning(model: str, who: str = "the tested model") -> str:
    """The one wording of the warning; `who` names the model's role ("the seed model")."""
    return f"the judge is {who} itself ({model}): {SELF_JUDGING}"


def _warned_about(warnings: Sequence[str], model: str) -> bool:
    ending = self_judge_warning(model).split(" itself ", 1)[1]
    return any(warning.endswith(f" itself {ending}") for warning in warnings)


def opening_warnings(runs: list[Run], given: Sequence[str] = ()) -> list[str]:
    """The caller's warnings, then one per self-judged run that none of them already covers."""
    warnings = list(dict.fromkeys(given))
    for run in runs:
        model = run.info.model
        if model and model == run.info.judge and not _warned_about(given, model):
            warnings.append(f"{run.label}: {self_judge_warning(model)}")
    return warnings
