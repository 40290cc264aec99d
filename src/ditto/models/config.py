"""How a model is reached and run: speed and robustness settings, never part of a cache key
(`structured` decides whether a schema is sent; the schema itself is in the key).

One dataclass for every command that calls a model, so `ditto simulate`, `ditto eval`,
`ditto generate` and `ditto run` share one default for each, and the library's `load_model`
gets the same ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from ditto.models.structured import STRUCTURED_MODES
from ditto.retry import RetryPolicy
from ditto.settings import check_settings, setting

LOCAL_BATCH_CPU = 8
LOCAL_BATCH_GPU = 256
"""Local (transformers) generation batch by default: the one rule for CPU and GPU."""


@dataclass(frozen=True)
class BackendConfig:
    concurrency: int = setting(64, "Most HTTP requests in flight.", min=1)
    timeout: float = setting(
        600.0, "Seconds an HTTP request may take, the whole answer included, before it is retried.", min=1.0
    )
    max_retries: int = setting(
        RetryPolicy.max_retries, "Retries of a failed HTTP request (429, 5xx, timeouts, resets).", min=0
    )
    batch_size: int | None = setting(
        None,
        f"Local generation batch [default: {LOCAL_BATCH_CPU} on CPU, {LOCAL_BATCH_GPU} on GPU; "
        "lower it if the GPU runs out of memory].",
        min=1,
    )
    device: str | None = setting(None, "Local generation device [default: cuda when present, else cpu].")
    structured: str = setting(
        "auto",
        "JSON schemas for answers with a form (queries, judge verdicts, ratings): auto (probe each server once "
        "per run; schema where it is enforced, else free text), on (stop if a server does not enforce), off.",
        choices=STRUCTURED_MODES,
    )

    def __post_init__(self) -> None:
        check_settings(self)
