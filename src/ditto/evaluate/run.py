"""One evaluation run, top to bottom: rollout -> judge -> (MT-Bench) -> files in `out_dir`.

`out_dir` is a run directory: its store makes a re-run free and a killed run resumable,
and its files (records.py names them) are what `ditto report` reads. `judge_answers` is
the second half alone, for responses that already exist (`ditto eval judge`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from ditto.chat_files import write_jsonl_atomic, write_text_atomic
from ditto.evaluate.config import EvalConfig
from ditto.evaluate.judge import judge_items
from ditto.evaluate.mtbench import mtbench_judge_params, mtbench_scores, run_mtbench
from ditto.evaluate.records import JUDGED_FILE, MTBENCH_FILE, RUN_INFO_FILE, SCORES_FILE, EvalItem
from ditto.evaluate.rollout import rollout
from ditto.evaluate.scoring import score_records
from ditto.models import ChatModel
from ditto.models.calls import retry_report
from ditto.models.structured import uses_schemas
from ditto.store import RunStore
from ditto.types import Usage


def evaluate(
    model: ChatModel,
    judge: ChatModel,
    store: RunStore,
    items: list[EvalItem],
    out_dir: str | Path,
    config: EvalConfig,
    *,
    model_name: str,
    judge_name: str,
    eval_file: str = "",
    with_profile: bool = False,
    progress: bool = True,
) -> dict:
    """Scores of the model on the eval set (and MT-Bench role-play); writes the run's files.

    `with_profile` only records that the items' system prompts hold full profiles
    (supervision.py), so that a report can tell that run from a role-play one."""
    started = time.perf_counter()
    answers, rollout_usage = rollout(model, store, items, config.answer_params, progress=progress)
    return judge_answers(
        judge, store, items, answers, out_dir, config, judge_name=judge_name, eval_file=eval_file,
        model_name=model_name, info={"with_profile": with_profile}, rollout_usage=rollout_usage, tested=model,
        started=started, progress=progress,
    )


def judge_answers(
    judge: ChatModel,
    store: RunStore,
    items: list[EvalItem],
    answers: list[list[str]],
    out_dir: str | Path,
    config: EvalConfig,
    *,
    judge_name: str,
    model_name: str,
    eval_file: str = "",
    info: dict | None = None,
    rollout_usage: Usage | None = None,
    tested: ChatModel | None = None,
    started: float | None = None,
    progress: bool = True,
) -> dict:
    """Judge `answers` (one reply per prompt of each item), score them and write the run's
    files; MT-Bench is answered and graded too when `config` has questions and `tested`."""
    out_dir = Path(out_dir)
    started = time.perf_counter() if started is None else started
    rollout_usage = rollout_usage or Usage()
    judged, judge_report = judge_items(judge, store, items, answers, config.judge, progress=progress)
    mtbench_structured: dict = {}
    judge_usage, judge_calls = judge_report.usage, judge_report.requests
    records = [item.model_dump(mode="json") for item in judged]
    write_jsonl_atomic(out_dir / JUDGED_FILE, records)
    scores = score_records(records)

    if config.mtbench_questions and tested is not None:
        mt_records, mt_answer_usage, mt_judge_usage, mt_calls, mt_tally = run_mtbench(
            tested, judge, store, list(config.mtbench_questions), answer_params=config.answer_params,
            judge_params=mtbench_judge_params(config.judge), prompts_dir=config.judge.prompts_dir,
            structured=config.judge.parsing != "official" and uses_schemas(judge, store),
            progress=progress,
        )
        mtbench_structured = mt_tally.as_dict()
        write_jsonl_atomic(out_dir / MTBENCH_FILE, mt_records)
        summary = mtbench_scores(mt_records)
        scores["mtbench_roleplay"] = None if summary["mean"] is None else round(summary["mean"], 2)
        scores["mtbench_roleplay_unrated"] = summary["unrated"]
        rollout_usage += mt_answer_usage
        judge_usage += mt_judge_usage
        judge_calls += mt_calls

    write_text_atomic(out_dir / SCORES_FILE, json.dumps(scores, indent=2, ensure_ascii=False))
    run_info = {
        "label": config.label or model_name,
        "model": model_name,
        "judge": judge_name,
        "eval_file": eval_file,
        "items": len(items),
        "turns": sum(len(a) for a in answers),
        "seconds": round(time.perf_counter() - started, 2),
        "judge_calls": judge_calls,
        "judge_n": config.judge.n,
        "judge_temperature": config.judge.temperature,
        "judge_max_tokens": config.judge.max_tokens,
        "judge_answers": judge_report.as_dict(),
        **({"mtbench_structured_outputs": mtbench_structured} if mtbench_structured else {}),
        **(info or {}),
        # read at the end: the model under test may be the judge, and MT-Bench calls it again
        "endpoints": {**({"model": retry_report(tested)} if tested is not None else {}),
                      "judge": retry_report(judge)},
        "tokens": {
            "rollout": {"prompt": rollout_usage.prompt_tokens, "completion": rollout_usage.completion_tokens},
            "judge": {"prompt": judge_usage.prompt_tokens, "completion": judge_usage.completion_tokens},
        },
    }
    write_text_atomic(out_dir / RUN_INFO_FILE, json.dumps(run_info, indent=2, ensure_ascii=False))
    return scores
