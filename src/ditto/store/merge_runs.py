"""`ditto merge`: join the run stores of shards (or of any runs) into one run directory."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ditto.errors import DittoError
from ditto.store.run_store import DATABASE_NAME, RunStore


@dataclass
class MergeReport:
    added: dict[str, int] = field(default_factory=dict)
    already_present: int = 0
    differing: int = 0
    total: int = 0


def merge_runs(target: str | Path, sources: list[str | Path]) -> MergeReport:
    """Every stored result of `sources` into `target`'s store. Each source is opened as a
    run (so it is locked against a shard still writing to it, and brought to the current
    schema); none is changed."""
    target = Path(target)
    for source in sources:
        if not (Path(source) / DATABASE_NAME).is_file():
            raise DittoError(f"ditto merge: {source} is not a run directory (no {DATABASE_NAME})")
        if Path(source).resolve() == target.resolve():
            raise DittoError(f"ditto merge: {source} is the target itself")
    report = MergeReport()
    with RunStore(target) as store:
        for source in sources:
            with RunStore(source) as other:
                added, present, differing = store.merge_from(other)
            report.added[str(source)] = added
            report.already_present += present
            report.differing += differing
        report.total = store.count()
    return report
