"""Structured outputs, before and after, side by side in one run (issue 14).

On the builtin model, through transformers and through a real llama.cpp server of the same
GGUF, each with `--structured off` (free text and the tolerant parsers: before) and
`--structured auto` (schemas where enforced: after):

- `ditto simulate` (English, 512 tokens as `make demo`): query-simulation attempts, the
  share that failed to parse, query sets lost;
- `ditto eval run` on one fixed eval set: judge samples unparsed, answers cut, judge output
  tokens, wall time;
- `ditto run` at its defaults (transformers, as `make demo` runs it): wall time.

    python benchmarks/structured_outputs.py --out /tmp/structured [--skip-run]

Results go to `<out>/structured_outputs.json` and `benchmarks/results/structured_outputs.json`,
and a Markdown table is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

MODES = ("off", "auto")
MAX_TOKENS = 512
"""Per query list and simulated reply: `ditto run`'s limit on the builtin model (make demo's)."""
RESULTS = Path(__file__).parent / "results" / "structured_outputs.json"


def ditto(*args: str, fresh: Path | None = None) -> float:
    """Run one ditto command; its wall time in seconds. `fresh`: a folder deleted first."""
    if fresh is not None:
        shutil.rmtree(fresh, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ditto", *args, "--no-progress"], check=True,
                   env=os.environ | {"PYTHONUNBUFFERED": "1"})
    return time.perf_counter() - started


def start_llama_server(log: Path) -> tuple[subprocess.Popen, str]:
    """llama-cpp-python's OpenAI-compatible server of the builtin GGUF on 127.0.0.1."""
    from ditto.models.builtin import builtin_gguf_path

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(builtin_gguf_path()), "--host", "127.0.0.1",
               "--port", str(port), "--n_ctx", "4096", "--n_threads", str(min(2, os.cpu_count() or 1))]
    process = subprocess.Popen(command, stdout=log.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    for _ in range(400):
        try:
            httpx.get(f"{url}/models", timeout=1.0)
            return process, url
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"llama.cpp server did not start: see {log}")


def simulate(out: Path, mode: str, server: list[str], limit: int, turns: int) -> dict:
    seconds = ditto("simulate", "--model", "builtin", *server, "--characters", "builtin", "--limit", str(limit),
                    "--lang", "en", "--turns", str(turns), "--max-tokens", str(MAX_TOKENS), "--structured", mode,
                    "--run", str(out), fresh=out)
    stats = json.loads((out / "stats.json").read_text())
    return {"seconds": round(seconds, 1), "query_sets": stats["query_sets"], "query_attempts": stats["query_attempts"],
            "parse_failure_rate": stats["parse_failure_rate"], "query_sets_failed": stats["query_sets_failed"],
            "query_completion_tokens": stats["stages"]["queries"]["completion_tokens"],
            "structured_outputs": stats["structured_outputs"]}


def evaluate(out: Path, eval_file: Path, mode: str, server: list[str], judge_server: list[str]) -> dict:
    seconds = ditto("eval", "run", "--eval", str(eval_file), "--model", "builtin", *server, "--judge", "builtin",
                    *judge_server, "--max-tokens", "96", "--judge-max-tokens", "256", "--structured", mode,
                    "--out", str(out), fresh=out)
    info = json.loads((out / "run_info.json").read_text())
    answers = info["judge_answers"]
    return {"seconds": round(seconds, 1), "judge_requests": answers["requests"],
            "samples_unparsed": sum(answers["samples_unparsed"].values()),
            "answers_cut": sum(answers["answers_cut"].values()),
            "judge_completion_tokens": info["tokens"]["judge"]["completion"],
            "structured": answers["structured"], "structured_outputs": answers["structured_outputs"],
            "scores": json.loads((out / "scores.json").read_text())["all"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True,
                        help="folder for the runs (each run's folder is deleted first; an eval.jsonl there is kept)")
    parser.add_argument("--limit", type=int, default=2, help="characters simulated per path and mode")
    parser.add_argument("--turns", type=int, default=2)
    parser.add_argument("--skip-run", action="store_true", help="leave out `ditto run` at its defaults (~25 min)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict = {"cores": os.cpu_count(), "limit": args.limit, "turns": args.turns, "paths": {}}

    process, url = start_llama_server(args.out / "llama-server.log")
    try:
        # one eval set for every evaluation, built once through the server (3 held-out
        # characters, 2 turns; 1,024 tokens, since a reply cut at the limit ends its dialogue)
        eval_file = args.out / "eval.jsonl"
        if not eval_file.exists():
            ditto("eval", "build", "--teacher", "builtin", "--teacher-base-url", url, "--limit", "3", "--lang", "en",
                  "--turns", "2", "--max-tokens", "1024", "--out", str(eval_file), "--run",
                  str(args.out / "eval-build"))
        paths = {"transformers": ([], []), "llama.cpp server": (["--base-url", url], ["--judge-base-url", url])}
        for path, (server, judge_server) in paths.items():
            slug = path.split()[0].replace(".", "")
            results["paths"][path] = {
                mode: {
                    "simulate": simulate(args.out / f"sim-{slug}-{mode}", mode, server, args.limit, args.turns),
                    "eval_run": evaluate(args.out / f"eval-{slug}-{mode}", eval_file, mode, server, judge_server),
                }
                for mode in MODES
            }
    finally:
        process.terminate()
        process.wait(timeout=30)

    if not args.skip_run:
        results["ditto_run"] = {
            mode: round(ditto("run", "--out", str(args.out / f"run-{mode}"), "--structured", mode,
                              fresh=args.out / f"run-{mode}"), 1)
            for mode in MODES
        }
    (args.out / "structured_outputs.json").write_text(json.dumps(results, indent=2))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    print_table(results)


def print_table(results: dict) -> None:
    print("\n| path | mode | query attempts | parse failures | sets lost | simulate s | judge unparsed | "
          "judge cut | judge out tokens | eval run s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for path, modes in results["paths"].items():
        for mode, r in modes.items():
            s, e = r["simulate"], r["eval_run"]
            print(f"| {path} | {mode} | {s['query_attempts']} | {s['parse_failure_rate']:.0%} | "
                  f"{s['query_sets_failed']}/{s['query_sets']} | {s['seconds']:.0f} | {e['samples_unparsed']} | "
                  f"{e['answers_cut']} | {e['judge_completion_tokens']} | {e['seconds']:.0f} |")
    if "ditto_run" in results:
        run = results["ditto_run"]
        print(f"\n`ditto run` at its defaults: off {run['off']:.0f} s, auto {run['auto']:.0f} s, "
              f"ratio {run['auto'] / run['off']:.2f}")


if __name__ == "__main__":
    main()
