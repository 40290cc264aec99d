"""The judge against itself and against another judge: stability checks that need no people.

`agreement.py` asks whether the judge agrees with people; this module asks whether it agrees
with itself, which is cheaper and catches a judge no labels would trust either. Three checks,
each a re-judging of the answers of a judged file through `judge_items` (so every request is
cached in the run store and a re-run sends nothing), with the verdicts read by
`agreement.judge_verdicts` and compared by `agreement.compare_metric`, as against people:

- position bias (as FastChat's MT-Bench judge swaps the two answers of a pairwise question):
  consistency is asked again with each item's candidates rotated by one (`rotate-1`: the
  first goes last, so for any list of two or more every candidate moves, and a list of four
  needs one extra question per turn, not 4! orders). The new verdict is mapped back to a
  candidate name. Per turn with a verdict in both orders, the judge "follows the character"
  when it names the same candidate, "follows the position" when it names the candidate that
  now stands where its first choice stood, and "other" otherwise. A judge that reads the
  reply follows the character; one that answers by position follows the position. Items with
  fewer than two candidates cannot be permuted and are left out. The interval of
  follows_character is the bootstrap interval of the accuracy of (first, permuted) choices
  over dialogues, which is that share;
- test-retest: all three questions asked again with fresh samples, the judge's seed replaced by
  `retest_seed`. By default that is the first seed past every seed the first judging could
  have used (sample s, attempt a uses seed + s + a * n), not seed + 1: with n > 1, seed + 1
  would make retest sample s the first judging's sample s + 1 on a backend that honours seeds;
- judge-judge: only with a second judge, which judges the same answers with the same settings
  and seed; its verdicts against the first judge's. A second judge with the first one's cache
  id (the same model name on another server) is refused: the store would answer it with the
  first judge's answers.

The first verdicts are those of the judged file itself (its `judgements`), so the settings
given here (n, temperature, token limit, parsing, prompts) should be those it was judged with;
the seed must be, for the position check to differ from the first judging only by the order.
A verdict is a turn's majority as `judge_verdicts` reads it (consistency: a tie goes to the
smallest position, in the order asked). Figures are rounded to 4 decimals, None where
undefined; every resampling starts from `seed`, so no figure's interval depends on another's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ditto.errors import DittoError
from ditto.evaluate.agreement import (
    BOOTSTRAP,
    COMPARED,
    DECIMALS,
    SEED,
    Key,
    bootstrap_intervals,
    compare_metric,
    judge_verdicts,
    paired_dialogues,
)
from ditto.evaluate.config import JudgeConfig
from ditto.evaluate.judge import judge_items
from ditto.evaluate.records import EvalItem, JudgedItem
from ditto.models import ChatModel
from ditto.store import RunStore

STABILITY_FILE = "stability.json"  # in a run directory, read by the report
PERMUTATION = "rotate-1"
SHARES = {"follows_character": "follows the character", "follows_position": "follows the position",
          "other": "names another candidate"}
"""The position check's shares, in the order tables show them, with their words."""


def _rotated(candidates: list[str]) -> list[str]:
    """The candidates rotated by one: position p now holds the candidate of position p + 1."""
    return candidates[1:] + candidates[:1]


def _original_position(permuted: int, count: int) -> int:
    """Where the candidate at `permuted` in the rotated list stood in the original one."""
    return (permuted + 1) % count


def _default_retest_seed(config: JudgeConfig) -> int:
    """The first seed that no sample or re-ask of a judging under `config` used."""
    return config.seed + config.n * config.attempts


def _rejudged(
    judge: ChatModel, store: RunStore, items: Sequence[JudgedItem], config: JudgeConfig, *,
    metrics: tuple[str, ...] = COMPARED, progress: bool,
) -> list[JudgedItem]:
    """The items' own answers judged again (as eval items: their first judging dropped)."""
    fields = set(EvalItem.model_fields)
    plain = [EvalItem.model_validate(item.model_dump(include=fields)) for item in items]
    judged, _ = judge_items(judge, store, plain, [item.answers for item in items], config,
                            metrics=metrics, progress=progress)
    return judged


def _share(count: int, total: int) -> float | None:
    return round(count / total, DECIMALS) if total else None


def _position_bias(
    judge: ChatModel, store: RunStore, items: Sequence[JudgedItem], config: JudgeConfig, *,
    bootstrap: int = BOOTSTRAP, seed: int = SEED, progress: bool = True,
) -> dict:
    """Consistency asked again in the rotated order, against the judged file's own verdicts."""
    movable = [item for item in items if len(item.candidates) >= 2]
    permuted = [item.model_copy(update={"candidates": _rotated(item.candidates)}) for item in movable]
    again = judge_verdicts(_rejudged(judge, store, permuted, config, metrics=("consistency",), progress=progress))
    counts = {item.id: len(item.candidates) for item in movable}
    back: dict[Key, int] = {key: _original_position(value, counts[key[0]]) for key, value in again.items()}
    first = {key: value for key, value in judge_verdicts(movable).items() if key[2] == "consistency"}
    compared = [key for key in first if key in back]
    character = sum(back[key] == first[key] for key in compared)
    position = sum(back[key] == _original_position(first[key], counts[key[0]]) for key in compared)
    intervals, _ = bootstrap_intervals(paired_dialogues(first, back, "consistency"), ("accuracy",), bootstrap, seed)
    return {
        "permutation": PERMUTATION, "n": len(compared),
        "follows_character": _share(character, len(compared)),
        "follows_position": _share(position, len(compared)),
        "other": _share(len(compared) - character - position, len(compared)),
        "ci": {"follows_character": intervals["accuracy"] if compared else None},
    }


def _compared(first: dict[Key, int], second: dict[Key, int], bootstrap: int, seed: int) -> dict:
    """compare_metric's figures per metric, first verdicts against second."""
    return {metric: compare_metric(paired_dialogues(first, second, metric), metric, bootstrap, seed)[0]
            for metric in COMPARED}


def stability(
    judge: ChatModel,
    store: RunStore,
    items: list[JudgedItem],
    config: JudgeConfig,
    *,
    judge_name: str,
    judged_file: str = "",
    other_judge: ChatModel | None = None,
    other_judge_name: str | None = None,
    retest_seed: int | None = None,
    bootstrap: int = BOOTSTRAP,
    seed: int = SEED,
    progress: bool = True,
) -> dict:
    """Position bias, test-retest and (with `other_judge`) judge-judge agreement of the judge
    that judged `items`, in the layout of stability.json:

    {"judge", "judged_file", "items", "turns",
     "position_bias": {"permutation", "n", "follows_character", "follows_position", "other",
                       "ci": {"follows_character": [lo, hi] | None}},
     "test_retest": {"seed", "consistency": {"kappa", "accuracy", "n", "ci"}, "rejection": {...},
                     "knowledge": {"spearman", "kendall", "qwk", "n", "ci"}},
     "judge_judge": {"other_judge", "consistency", "rejection", "knowledge"}}  (with a second judge)
    """
    if other_judge is not None and other_judge.cache_id == judge.cache_id:
        raise DittoError(f"--other-judge: the run store cannot tell it from --judge (both {judge.cache_id}), so its "
                         "answers would be the first judge's; judge-judge agreement needs another model")
    retest_seed = _default_retest_seed(config) if retest_seed is None else retest_seed
    first = judge_verdicts(items)
    retest = judge_verdicts(_rejudged(judge, store, items, replace(config, seed=retest_seed), progress=progress))
    result: dict = {
        "judge": judge_name, "judged_file": judged_file, "items": len(items),
        "turns": sum(len(item.answers) for item in items),
        "position_bias": _position_bias(judge, store, items, config, bootstrap=bootstrap, seed=seed,
                                       progress=progress),
        "test_retest": {"seed": retest_seed} | _compared(first, retest, bootstrap, seed),
    }
    if other_judge is not None:
        other = judge_verdicts(_rejudged(other_judge, store, items, config, progress=progress))
        result["judge_judge"] = {"other_judge": other_judge_name or other_judge.cache_id} | _compared(
            first, other, bootstrap, seed)
    return result
