"""Pipeline overhead: `ditto simulate` through the HTTP backend against the same server's
raw throughput on the same requests, sent by a minimal client at the same concurrency.

1. `simulate()` runs on a fresh run directory against a llama.cpp server (started here on
   127.0.0.1 with the builtin GGUF unless --base-url is given). Its wall time covers
   everything a user waits for: pairing, prompt rendering, parsing, the store, the files.
2. Every request it sent is read back from the run store and sent again, in the order it was
   first sent, by a bare `httpx` client with the same concurrency and no store, retries or
   parsing. Bodies carry the same seeds, so the server does the same work.
3. Throughput = completion tokens / wall seconds for each; the figure is their ratio.
   The pair is run `--repeats` times, alternating, and the median ratio reported.

    python benchmarks/pipeline_overhead.py --repeats 2 --out benchmarks/results/pipeline_overhead.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO))


def run_simulate(base_url: str, run_dir: Path, args) -> tuple[float, int]:
    from ditto.characters import read_profiles
    from ditto.models.openai_backend import OpenAIChatModel
    from ditto.simulate.config import SimulateConfig
    from ditto.simulate.run import simulate
    from ditto.store import RunStore

    started = time.perf_counter()
    pool = read_profiles("builtin")
    config = SimulateConfig(limit=args.characters, langs=("en",), turns=args.turns, seed=args.seed,
                            max_tokens=args.max_tokens)
    with RunStore(run_dir) as store:
        model = OpenAIChatModel("builtin", [base_url], concurrency=args.concurrency)
        result = simulate(pool, model, store, run_dir, config, progress=False)
    seconds = time.perf_counter() - started
    stages = result.stats["stages"]
    return seconds, stages["queries"]["completion_tokens"] + stages["responses"]["completion_tokens"]


def stored_bodies(run_dir: Path) -> list[dict]:
    from ditto.models.openai_backend import OpenAIChatModel
    from ditto.types import ChatRequest

    payload = OpenAIChatModel("builtin", ["http://unused"], check_reachable=False).payload
    with sqlite3.connect(run_dir / "store.sqlite") as db:
        rows = db.execute("SELECT request FROM requests ORDER BY rowid").fetchall()
    return [payload(ChatRequest.model_validate_json(row[0])) for row in rows]


async def send_raw(base_url: str, bodies: list[dict], concurrency: int) -> tuple[float, int]:
    semaphore = asyncio.Semaphore(concurrency)
    tokens = 0
    async with httpx.AsyncClient(timeout=600) as client:

        async def one(body: dict) -> None:
            nonlocal tokens
            async with semaphore:
                response = await client.post(f"{base_url}/chat/completions", json=body)
                tokens += response.json()["usage"]["completion_tokens"]

        started = time.perf_counter()
        await asyncio.gather(*(one(b) for b in bodies))
        return time.perf_counter() - started, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", help="an OpenAI-compatible server; default: start llama.cpp here")
    parser.add_argument("--characters", type=int, default=3)
    parser.add_argument("--turns", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    server = None
    base_url = args.base_url
    if base_url is None:
        from ditto.models.builtin import builtin_gguf_path
        from tests.conftest import start_llama_server

        server, base_url = start_llama_server(builtin_gguf_path(), Path(tempfile.mkdtemp()) / "server.log")
    rows = []
    try:
        for repeat in range(args.repeats):
            run_dir = Path(tempfile.mkdtemp()) / "run"
            pipeline_s, pipeline_tokens = run_simulate(base_url, run_dir, args)
            bodies = stored_bodies(run_dir)
            raw_s, raw_tokens = asyncio.run(send_raw(base_url, bodies, args.concurrency))
            rows.append({
                "repeat": repeat + 1, "requests": len(bodies),
                "pipeline_s": round(pipeline_s, 2), "pipeline_tokens": pipeline_tokens,
                "raw_s": round(raw_s, 2), "raw_tokens": raw_tokens,
                "ratio": round((pipeline_tokens / pipeline_s) / (raw_tokens / raw_s), 4),
            })
            print(json.dumps(rows[-1]), flush=True)
    finally:
        if server is not None:
            server.terminate()
    ratio = statistics.median(r["ratio"] for r in rows)
    print("\n| repeat | requests | ditto simulate s | tokens | raw client s | tokens | ratio |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['repeat']} | {r['requests']} | {r['pipeline_s']} | {r['pipeline_tokens']} | {r['raw_s']} | "
              f"{r['raw_tokens']} | {r['ratio']:.3f} |")
    print(f"\nmedian ratio (ditto tokens/s over raw tokens/s): {ratio:.3f}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"args": vars(args) | {"out": str(args.out)}, "runs": rows,
                                        "median_ratio": ratio}, indent=2))


if __name__ == "__main__":
    main()
