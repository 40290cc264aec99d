"""Reading evaluation run directories (`ditto eval run --out DIR`) into one record per run.

Only judged.jsonl is required: the WikiRoleEval scores are always recomputed from it (so a
report never shows numbers its dialogues do not support); scores.json, mtbench.jsonl,
run_info.json, agreement.json and stability.json (reliability.py) add what they hold when present.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ditto.chat_files import read_jsonl
from ditto.errors import DittoError
from ditto.evaluate.agreement import AGREEMENT_FILE
from ditto.evaluate.records import JUDGED_FILE, MTBENCH_FILE, RUN_INFO_FILE, SCORES_FILE
from ditto.evaluate.scoring import read_judged, score_records
from ditto.evaluate.stability import STABILITY_FILE
from ditto.report.json_files import Record, read_json_object, read_record
from ditto.report.reliability import AgreementFile, StabilityFile


class RunInfo(BaseModel):
    """run_info.json: what was evaluated, by which judge, and what it cost."""

    model_config = ConfigDict(extra="ignore", protected_namespaces=())

    label: str | None = None
    model: str | None = None
    judge: str | None = None
    eval_file: str | None = None
    seconds: float | None = None
    judge_calls: int | None = None
    tokens: dict[str, dict[str, int]] = {}


@dataclass
class MTBench:
    """MT-Bench answers of one run: the mean is over all scored turns, as FastChat's."""

    rows: list[dict]
    mean: float | None
    scored_turns: int


@dataclass
class Run:
    directory: Path
    label: str
    info: RunInfo
    records: list[dict]
    scores: dict
    mtbench: MTBench | None = None
    saved_scores: dict | None = field(default=None, repr=False)
    agreement: AgreementFile | None = None
    stability: StabilityFile | None = None

    @property
    def judge_checked(self) -> bool:
        """Whether the run's judge was checked at all: against people, or for stability."""
        return self.agreement is not None or self.stability is not None


def _optional(path: Path, record: type[Record]) -> Record | None:
    return read_record(path, record) if path.is_file() else None


def read_mtbench(path: Path) -> MTBench:
    """The role-play rows' scores (all rows when the file holds no 'roleplay' category)."""
    rows = []
    for number, row in read_jsonl(path):
        scores = row.get("scores")
        valid = isinstance(scores, list) and all(
            s is None or (isinstance(s, (int, float)) and not isinstance(s, bool)) for s in scores
        )
        if not valid:
            raise DittoError(f"{path}:{number}: 'scores' must be a list of numbers or nulls")
        rows.append(row)
    roleplay = [row for row in rows if row.get("category") == "roleplay"] or rows
    scored = [float(s) for row in roleplay for s in row["scores"] if s is not None and not math.isnan(s)]
    mean = round(sum(scored) / len(scored), 2) if scored else None
    return MTBench(rows=roleplay, mean=mean, scored_turns=len(scored))


def read_run(directory: Path, *, bootstrap: int = 1000, seed: int = 0) -> Run:
    directory = Path(directory)
    if not directory.is_dir():
        raise DittoError(f"{directory}: no such run directory")
    judged = directory / JUDGED_FILE
    if not judged.is_file():
        raise DittoError(f"{directory}: no {JUDGED_FILE} (make it with `ditto eval run --out {directory}`)")
    records = read_judged(judged)
    info = _optional(directory / RUN_INFO_FILE, RunInfo) or RunInfo()
    return Run(
        directory=directory,
        label=info.label or directory.name,
        info=info,
        records=records,
        scores=score_records(records, bootstrap=bootstrap, seed=seed),
        mtbench=read_mtbench(directory / MTBENCH_FILE) if (directory / MTBENCH_FILE).is_file() else None,
        saved_scores=read_json_object(directory / SCORES_FILE) if (directory / SCORES_FILE).is_file() else None,
        agreement=_optional(directory / AGREEMENT_FILE, AgreementFile),
        stability=_optional(directory / STABILITY_FILE, StabilityFile),
    )


def collect_runs(directories: list[Path], *, bootstrap: int = 1000, seed: int = 0) -> list[Run]:
    """Every run in the order given; a label used twice gets its directory name added."""
    if not directories:
        raise DittoError("no run directories given")
    runs = [read_run(directory, bootstrap=bootstrap, seed=seed) for directory in directories]
    labels = [run.label for run in runs]
    for run in runs:
        if labels.count(run.label) > 1:
            run.label = f"{run.label} ({run.directory})"
    return runs


def stale_saved_scores(run: Run) -> bool:
    """True when scores.json disagrees with the scores recomputed from judged.jsonl."""
    saved = run.saved_scores
    if not saved or not isinstance(saved.get("all"), dict):
        return False
    metrics = [metric for metric in ("consistency", "knowledge", "rejection") if metric in saved["all"]]
    return any(saved["all"][metric] != run.scores["all"][metric] for metric in metrics)
