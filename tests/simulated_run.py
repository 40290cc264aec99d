"""One `ditto simulate` of three builtin characters on the llama.cpp server, through transient
faults, then re-run: made once per test session (the `simulated` fixture of tests/conftest.py)
and read by the simulate end-to-end tests, and by the eval end-to-end tests, whose `eval build`
of two of its characters asks exactly what it asked and answers from a copy of its store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ditto.models.schema_probe import is_probe
from tests.fault_proxy import FaultProxy

FAULTS = ["429", None, None, "500", None, "reset", None, None, "truncate", None, "badjson"]
MAX_TOKENS = 1024
"""Room for the tiny model's whole replies (300 to 700 tokens on this pool): a reply cut at
the limit ends its session, so a few dozen tokens would leave almost no session."""
SEED = 0
SETTINGS = ["--characters", "builtin", "--limit", "3", "--lang", "en", "--turns", "2", "--max-tokens",
            str(MAX_TOKENS), "--seed", str(SEED), "--no-progress"]


def ditto(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ditto", *args], capture_output=True, text=True, timeout=900)


def simulate_through_faults(run: Path, upstream: str) -> dict:
    """Transient faults spread over the run; the shard test compares it with clean runs."""
    memory: dict = {}  # pinned answers, shared with the shards (tests/fault_proxy.py)
    with FaultProxy(upstream, FAULTS, memory=memory) as proxy:
        args = ["simulate", "--model", "builtin", "--base-url", proxy.base_url, *SETTINGS,
                "--concurrency", "1", "--run", str(run)]
        result = ditto(*args)
        posts_before = proxy.posts
        # the run's own requests; the structured-output probe's are the stats' business
        first_bodies = [b for b in map(json.loads, proxy.bodies) if not is_probe(b)]
        sft_before = (run / "sft.jsonl").read_bytes() if result.returncode == 0 else b""
        stats_before = json.loads((run / "stats.json").read_text()) if result.returncode == 0 else {}
        rerun = ditto(*args)
        rerun_posts = proxy.posts - posts_before
    assert result.returncode == 0, result.stderr
    assert rerun.returncode == 0, rerun.stderr
    return {"run": run, "bodies": first_bodies, "sft_before": sft_before, "rerun_posts": rerun_posts,
            "proxy_url": proxy.base_url, "memory": memory, "stats_before": stats_before}
