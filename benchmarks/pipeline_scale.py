"""Pipeline at scale: ditto's own cost per request, against a bare client, at 4k-16k characters.

For each pool size N (a synthetic pool: the builtin English profiles copied under new ids and
names until there are N), against `instant_server.py` (answers at once, records every body):

1. `ditto simulate` over the N characters, timed as a user waits for it (the whole command),
   with its peak resident memory (the process's own `ru_maxrss`) and the size of its store
   and of its output files;
2. the bodies it sent replayed by a bare `httpx` client at the same concurrency against a
   fresh server: no store, no parsing, no retries. ratio = the bare client's seconds / ditto's,
   i.e. ditto's requests/s over the bare client's for the same requests (1.0: ditto costs
   nothing on top of HTTP);
3. the same for `ditto eval run` on an eval set built by `ditto eval build` from the same pool
   (the build is timed too, not replayed).

`--kill-resume` then runs `ditto simulate` at the first size, SIGKILLs it when about half the
requests have reached the server, starts it again and counts: the second run must send exactly
the requests whose results the first had not committed, and end with the same files as an
uninterrupted run.

    python benchmarks/pipeline_scale.py --sizes 4000,8000,16000 --eval-sizes 4000,8000 --kill-resume \
        --out benchmarks/results/pipeline_scale.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

DITTO = [sys.executable, "-m", "ditto"]


def make_pool(size: int, path: Path) -> None:
    """N English profiles: the builtin ones in turn, copy k named '<name> k' with id '<id>~k'."""
    from ditto.characters import read_profiles

    base = [p for p in read_profiles("builtin") if p.lang == "en"]
    with open(path, "w") as out:
        for index in range(size):
            profile, copy = base[index % len(base)], index // len(base)
            if copy:
                profile = profile.model_copy(update={"id": f"{profile.id}~{copy}", "name": f"{profile.name} {copy}"})
            out.write(profile.model_dump_json() + "\n")


class Server:
    """instant_server.py in its own process on a free port, recording to `record`."""

    def __init__(self, record: Path, latency_ms: float) -> None:
        self.record = record
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process = subprocess.Popen(
            [sys.executable, str(REPO / "benchmarks" / "instant_server.py"), "--port", str(self.port),
             "--record", str(record), "--latency-ms", str(latency_ms)]
        )
        self.url = f"http://127.0.0.1:{self.port}/v1"
        for _ in range(200):
            try:
                httpx.get(f"{self.url}/models", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("instant server did not start")

    def stop(self) -> list[bytes]:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        return self.record.read_bytes().splitlines()


def run_command(args: list[str], kill_after: int | None = None, record: Path | None = None) -> dict:
    """Run a ditto command; its wall seconds and peak RSS (MB). With `kill_after`, SIGKILL it
    once `record` holds that many bodies."""
    started = time.perf_counter()
    process = subprocess.Popen(DITTO + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if kill_after is not None:
        while process.poll() is None:
            if record.exists() and record.read_bytes().count(b"\n") >= kill_after:
                process.kill()
                break
            time.sleep(0.02)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = process.stderr.read().decode()
    if kill_after is None and process.returncode != 0:
        raise RuntimeError(f"ditto {' '.join(args)} failed:\n{stderr[-3000:]}")
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "exit": process.returncode}


async def replay(url: str, bodies: list[bytes], concurrency: int) -> float:
    """Send `bodies` in order, `concurrency` at a time, with one plain httpx client."""
    semaphore = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"content-type": "application/json"}
    async with httpx.AsyncClient(timeout=600, limits=limits) as client:

        async def one(body: bytes) -> None:
            async with semaphore:
                response = await client.post(f"{url}/chat/completions", content=body, headers=headers)
                response.json()

        started = time.perf_counter()
        await asyncio.gather(*(one(b) for b in bodies))
        return time.perf_counter() - started


def bare_seconds(bodies: list[bytes], concurrency: int, work: Path, latency_ms: float) -> float:
    server = Server(work / "replay-bodies.jsonl", latency_ms)
    try:
        return asyncio.run(replay(server.url, bodies, concurrency))
    finally:
        server.stop()
        (work / "replay-bodies.jsonl").unlink()


def sizes_of(run_dir: Path) -> dict:
    store = sum(f.stat().st_size for f in run_dir.glob("store.sqlite*"))
    outputs = sum(f.stat().st_size for f in run_dir.rglob("*") if f.is_file() and not f.name.startswith("store."))
    return {"store_mb": round(store / 2**20, 1), "outputs_mb": round(outputs / 2**20, 1),
            "stored_results": stored_results(run_dir)}


def against_server(name: str, command, work: Path, args, *, replayed: bool = True,
                   run_dir: Path | None = None) -> dict:
    """Run `command(url)` (a ditto command line) against a fresh recording server; with
    `replayed`, send its bodies again with the bare client and give both rates and their ratio."""
    record = work / f"{name}-bodies.jsonl"
    server = Server(record, args.latency_ms)
    try:
        result = run_command(command(server.url) + ["--concurrency", str(args.concurrency), "--no-progress"])
    finally:
        bodies = server.stop()
        record.unlink()
    del result["exit"]
    result["requests"] = len(bodies)
    if replayed:
        result["bare_seconds"] = round(bare_seconds(bodies, args.concurrency, work, args.latency_ms), 2)
        result["requests_per_s"] = round(len(bodies) / result["seconds"], 1)
        result["bare_requests_per_s"] = round(len(bodies) / result["bare_seconds"], 1)
        result["ratio"] = round(result["bare_seconds"] / result["seconds"], 3)
    if run_dir is not None:
        result |= sizes_of(run_dir)
    return result


def simulate_args(pool: Path, run_dir: Path, url: str) -> list[str]:
    return ["simulate", "--characters", str(pool), "--lang", "en", "--model", "instant", "--base-url", url,
            "--run", str(run_dir)]


def one_size(size: int, work: Path, args) -> dict:
    pool = work / f"pool-{size}.jsonl"
    make_pool(size, pool)
    out: dict = {"characters": size}
    sim_dir = work / f"simulate-{size}"
    out["simulate"] = against_server("simulate", lambda url: simulate_args(pool, sim_dir, url), work, args,
                                     run_dir=sim_dir)
    print(f"{size} characters, simulate: {out['simulate']}", flush=True)
    if size not in args.eval_at:
        return out
    eval_set, build_dir, eval_dir = work / f"eval-{size}.jsonl", work / f"build-{size}", work / f"evalrun-{size}"
    out["eval_build"] = against_server("build", lambda url: [
        "eval", "build", "--characters", str(pool), "--lang", "en", "--teacher", "instant",
        "--teacher-base-url", url, "--out", str(eval_set), "--run", str(build_dir)], work, args, replayed=False)
    out["eval_run"] = against_server("eval", lambda url: [
        "eval", "run", "--eval", str(eval_set), "--out", str(eval_dir), "--model", "instant", "--base-url", url,
        "--judge", "instant", "--judge-base-url", url, "--judge-n", str(args.judge_n)], work, args, run_dir=eval_dir)
    print(f"{size} characters, eval run: {out['eval_run']}", flush=True)
    return out


def stored_results(run_dir: Path) -> int:
    with sqlite3.connect(run_dir / "store.sqlite") as db:
        return db.execute("SELECT COUNT(*) FROM requests").fetchone()[0]


def simulate_recorded(name: str, pool: Path, run_dir: Path, work: Path, args,
                      kill_after: int | None = None) -> tuple[dict, list[bytes]]:
    """`ditto simulate` against a fresh recording server (killed once `kill_after` bodies
    have arrived, when given); its result and the bodies the server received."""
    record = work / f"{name}-bodies.jsonl"
    server = Server(record, args.latency_ms)
    try:
        result = run_command(simulate_args(pool, run_dir, server.url)
                             + ["--concurrency", str(args.concurrency), "--no-progress"],
                             kill_after=kill_after, record=record)
    finally:
        bodies = server.stop()
        record.unlink()
    return result, bodies


def kill_resume(size: int, work: Path, args, full_dir: Path) -> dict:
    """Kill `ditto simulate` half-way, restart it, count what each run sent (module docstring)."""
    from ditto.models.schema_probe import is_probe

    pool, run_dir = work / f"pool-{size}.jsonl", work / f"killed-{size}"
    total = stored_results(full_dir)
    first, first_bodies = simulate_recorded("first", pool, run_dir, work, args, kill_after=total // 2)
    committed = stored_results(run_dir)
    second, second_bodies = simulate_recorded("second", pool, run_dir, work, args)
    sent = [b for b in second_bodies if not is_probe(json.loads(b))]
    duplicates = sum(count - 1 for count in Counter(sent).values())
    final = stored_results(run_dir)
    same_files = all((run_dir / f).read_bytes() == (full_dir / f).read_bytes()
                     for f in ("sessions.jsonl", "queries.jsonl", "sft.jsonl"))
    return {
        "requests_of_a_full_run": total,
        "first_run": {"sent": len(first_bodies), "exit": first["exit"], "committed": committed},
        "second_run": {"sent": len(sent), "duplicate_bodies": duplicates, "seconds": second["seconds"]},
        "missing_after_kill": total - committed,
        "sent_exactly_the_missing": len(sent) == total - committed and final == total and duplicates == 0,
        "stored_after_restart": final,
        "same_files_as_uninterrupted_run": same_files,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="4000,8000,16000", help="Pool sizes, comma-separated.")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="The server's fixed time per answer.")
    parser.add_argument("--judge-n", type=int, default=1, help="Judge samples per question in `eval run`.")
    parser.add_argument("--eval-sizes", help="Pool sizes at which `eval build` and `eval run` are measured too "
                        "(default: every size; 'none': simulate only).")
    parser.add_argument("--kill-resume", action="store_true",
                        help="Also the kill-and-restart count, at the first size.")
    parser.add_argument("--work", type=Path, help="Keep run directories here (default: a temporary folder).")
    parser.add_argument("--out", type=Path, help="Write the results here as JSON.")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    args.eval_at = sizes if args.eval_sizes is None else [
        int(s) for s in args.eval_sizes.split(",") if s.strip() and s.strip() != "none"]
    with tempfile.TemporaryDirectory(prefix="ditto-scale-") as temporary:
        work = args.work or Path(temporary)
        work.mkdir(parents=True, exist_ok=True)
        results = {"concurrency": args.concurrency, "latency_ms": args.latency_ms, "judge_n": args.judge_n,
                   "command": " ".join(sys.argv),
                   "cpus": os.cpu_count(), "sizes": []}
        for size in sizes:
            results["sizes"].append(one_size(size, work, args))
        if args.kill_resume:
            results["kill_resume"] = kill_resume(sizes[0], work, args, work / f"simulate-{sizes[0]}")
            print(f"kill and resume: {results['kill_resume']}", flush=True)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
