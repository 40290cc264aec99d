"""One evaluation run, top to bottom: rollout -> judge -> (MT-Bench) -> files in `out_dir`.

`out_dir` is a run directory: its store makes a re-run free and a killed run resumable,
and its files (records.py names them) are what `ditto report` reads.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from ditto.chat_files import write_jsonl_atomic, write_text_atomic
from ditto.evaluate.config import EvalConfig
from ditto.evaluate.judge import judge_items
from ditto.evaluate.mtbench import mtbench_judge_params, run_mtbench
from ditto.evaluate.records import JUDGED_FILE, MTBENCH_FILE, RUN_INFO_FILE, SCORES_FILE, EvalItem
from ditto.evaluate.rollout import rollout
from ditto.evaluate.scoring import score_records
from ditto.models import ChatModel
from ditto.models.calls import retry_report
from ditto.store import RunStore


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
    progress: bool = True,
) -> dict:
    """Scores of the model on the eval set (and MT-Bench role-play); writes the run's files."""
    out_dir = Path(out_dir)
    started = time.perf_counter()
    answers, rollout_usage = rollout(model, store, items, config.answer_params, progress=progress)
    judged, judge_usage, judge_calls = judge_items(judge, store, items, answers, config.judge, progress=progress)
    records = [item.model_dump(mode="json") for item in judged]
    write_jsonl_atomic(out_dir / JUDGED_FILE, records)
    scores = score_records(records)

    if config.mtbench_questions:
        mt_records, mt_answer_usage, mt_judge_usage, mt_calls = run_mtbench(
            model, judge, store, list(config.mtbench_questions), answer_params=config.answer_params,
            judge_params=mtbench_judge_params(config.judge), prompts_dir=config.judge.prompts_dir,
            max_reasks=config.judge.max_reasks, progress=progress,
        )
        write_jsonl_atomic(out_dir / MTBENCH_FILE, mt_records)
        graded = [s for r in mt_records for s in r["scores"] if s is not None]
        scores["mtbench_roleplay"] = round(sum(graded) / len(graded), 2) if graded else None
        rollout_usage += mt_answer_usage
        judge_usage += mt_judge_usage
        judge_calls += mt_calls

    write_text_atomic(out_dir / SCORES_FILE, json.dumps(scores, indent=2, ensure_ascii=False))
    info = {
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
        "endpoints": {"model": retry_report(model), "judge": retry_report(judge)},
        "tokens": {
            "rollout": {"prompt": rollout_usage.prompt_tokens, "completion": rollout_usage.completion_tokens},
            "judge": {"prompt": judge_usage.prompt_tokens, "completion": judge_usage.completion_tokens},
        },
    }
    write_text_atomic(out_dir / RUN_INFO_FILE, json.dumps(info, indent=2, ensure_ascii=False))
    return scores
