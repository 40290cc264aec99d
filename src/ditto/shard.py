"""`--shard i/N`: N machines share one stage by each doing the work units that hash to it.

A unit (a character, an eval item, an input line) belongs to shard `i` when a stable hash
of its key falls in bucket `i`, so the split does not depend on order, on the other units
or on the machine, and a pool that grows keeps its old units where they were. Every shard
makes exactly the requests the unsharded run would make for its units; `ditto merge` joins
the shards' run stores, and the stage re-run without `--shard` on the merged store
answers everything from it.

`--shard auto` takes i/N from the scheduler that started the machine (`Shard.from_environment`):
a Slurm job array (`SLURM_ARRAY_TASK_*`, any start and step, ids evenly spaced) or a
Kubernetes Indexed Job (`JOB_COMPLETION_INDEX`, with `JOB_COMPLETIONS` set by the manifest
to `.spec.completions`, which Kubernetes does not put in the environment). Slurm's
variables win when both are there: sbatch copies the submitting shell's environment into
every task, so a job submitted from a Kubernetes pod carries that pod's index. The shard
is the same value as the explicit `i/N` (`str` gives "i/N"), so runs, studies and their
records do not depend on which was given.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from ditto.errors import DittoError

T = TypeVar("T")

SLURM_ID = "SLURM_ARRAY_TASK_ID"
SLURM_COUNT = "SLURM_ARRAY_TASK_COUNT"
SLURM_MIN = "SLURM_ARRAY_TASK_MIN"
SLURM_MAX = "SLURM_ARRAY_TASK_MAX"
SLURM_STEP = "SLURM_ARRAY_TASK_STEP"
K8S_INDEX = "JOB_COMPLETION_INDEX"
K8S_COMPLETIONS = "JOB_COMPLETIONS"
"""Ours, not Kubernetes': the Job's manifest sets it to its `.spec.completions`."""
SHARD_VARIABLES = (SLURM_ID, SLURM_COUNT, SLURM_MIN, SLURM_MAX, SLURM_STEP, K8S_INDEX, K8S_COMPLETIONS)

AUTO = "auto"
_OPTION = "--shard auto"


@dataclass(frozen=True)
class Shard:
    index: int
    """1-based: `--shard 1/4` ... `--shard 4/4`."""
    count: int
    source: str | None = field(default=None, compare=False, repr=False)
    """Where `--shard auto` found i/N (the scheduler's variables); None when given as i/N.
    Not part of the value: an auto shard equals, hashes and prints as its i/N."""

    @classmethod
    def parse(cls, text: str | None, option: str = "--shard") -> Shard | None:
        if text is None:
            return None
        if text.strip().lower() == AUTO:
            shard = cls.from_environment()
            print(f"{option} auto: shard {shard} ({shard.source})", file=sys.stderr)
            return shard
        index, slash, count = text.partition("/")
        try:
            shard = cls(int(index), int(count))
        except ValueError:
            shard = None
        if not slash or shard is None or not 1 <= shard.index <= shard.count:
            raise DittoError(f"{option} {text}: expected i/N with 1 <= i <= N, e.g. 1/4, or auto")
        return shard

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Shard:
        """i/N from a Slurm job array's or a Kubernetes Indexed Job's variables (module doc);
        a DittoError of one line when neither is set or their values cannot give i/N."""
        env = {name: value.strip() for name, value in (os.environ if environ is None else environ).items()
               if name in SHARD_VARIABLES and value.strip()}  # set but empty counts as not set
        if SLURM_ID in env:
            shard = _from_slurm(env)
            if K8S_INDEX in env:
                shard = cls(shard.index, shard.count, f"{shard.source}; {K8S_INDEX} ignored")
            return shard
        if K8S_INDEX in env:
            return _from_kubernetes(env)
        if K8S_COMPLETIONS in env:
            raise DittoError(f"{_OPTION}: {K8S_COMPLETIONS} is set but {K8S_INDEX} is not: give the Job "
                             "completionMode: Indexed (Kubernetes then sets the index in each pod), "
                             "or give --shard i/N")
        raise DittoError(
            f"{_OPTION}: no scheduler's shard variables are set (Slurm job array: {SLURM_ID}, {SLURM_COUNT}, "
            f"{SLURM_MIN}, {SLURM_MAX}, {SLURM_STEP}; Kubernetes Indexed Job: {K8S_INDEX} and {K8S_COMPLETIONS}); "
            "give --shard i/N"
        )

    def owns(self, key: str) -> bool:
        bucket = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % self.count
        return bucket == self.index - 1

    def select(self, items: Iterable[T], key: Callable[[T], str]) -> list[T]:
        return [item for item in items if self.owns(key(item))]

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def _number(env: Mapping[str, str], name: str, needed_with: str) -> int:
    """The variable as a whole number >= 0; missing or anything else is one line naming it."""
    if name not in env:
        raise DittoError(f"{_OPTION}: {needed_with} is set but {name} is not; give --shard i/N")
    value = env[name]
    if not re.fullmatch(r"[0-9]+", value):
        raise DittoError(f"{_OPTION}: {name}={value!r} is not a whole number >= 0")
    return int(value)


def _from_slurm(env: Mapping[str, str]) -> Shard:
    """A job array's task: ids MIN, MIN+STEP, ..., MAX (COUNT of them) are shards 1..COUNT.

    Slurm sets STEP to the array's step (`--array=0-15:4`: 4); without it (older Slurm) the
    ids must be contiguous. An array whose COUNT ids are not MIN..MAX evenly spaced
    (`--array=1,3,7`) is refused on every task, not only on the ones off the grid, so that no
    task starts a split the others cannot complete."""
    task = _number(env, SLURM_ID, SLURM_ID)
    count, first, last = (_number(env, name, SLURM_ID) for name in (SLURM_COUNT, SLURM_MIN, SLURM_MAX))
    step = _number(env, SLURM_STEP, SLURM_ID) if SLURM_STEP in env else 1
    if count < 1:
        raise DittoError(f"{_OPTION}: {SLURM_COUNT}={count} is out of range (expected >= 1)")
    if step < 1:
        raise DittoError(f"{_OPTION}: {SLURM_STEP}={step} is out of range (expected >= 1)")
    if not first <= task <= last:
        raise DittoError(f"{_OPTION}: {SLURM_ID}={task} is out of range "
                         f"({SLURM_MIN}={first} to {SLURM_MAX}={last})")
    if last - first != step * (count - 1) or (task - first) % step:
        raise DittoError(
            f"{_OPTION}: the Slurm job array's ids are not evenly spaced ({SLURM_ID}={task}, {SLURM_COUNT}={count}, "
            f"{SLURM_MIN}={first}, {SLURM_MAX}={last}, {SLURM_STEP}={step}), so they cannot be numbered i/N: "
            f"submit a range, --array=0-{count - 1}, or give --shard i/N by hand"
        )
    array = f"{first}-{last}" + (f":{step}" if step != 1 else "")
    return Shard((task - first) // step + 1, count, f"Slurm job array {array}: {SLURM_ID}={task}")


def _from_kubernetes(env: Mapping[str, str]) -> Shard:
    """A pod of an Indexed Job: index 0..completions-1 is shard index+1 of completions."""
    index = _number(env, K8S_INDEX, K8S_INDEX)
    if K8S_COMPLETIONS not in env:
        raise DittoError(
            f"{_OPTION}: {K8S_INDEX} is set but {K8S_COMPLETIONS} is not (Kubernetes does not pass the count): "
            f"set {K8S_COMPLETIONS} in the Job's container env to its .spec.completions"
        )
    completions = _number(env, K8S_COMPLETIONS, K8S_INDEX)
    if completions < 1:
        raise DittoError(f"{_OPTION}: {K8S_COMPLETIONS}={completions} is out of range (expected >= 1)")
    if index >= completions:
        raise DittoError(f"{_OPTION}: {K8S_INDEX}={index} is out of range for {K8S_COMPLETIONS}={completions} "
                         f"(expected 0 to {completions - 1}); is {K8S_COMPLETIONS} the Job's .spec.completions?")
    source = f"Kubernetes Indexed Job: {K8S_INDEX}={index}, {K8S_COMPLETIONS}={completions}"
    return Shard(index + 1, completions, source)
