"""`ditto run` wall time per stage, with the requests and tokens each stage's run store holds.

Runs the whole method once on a fresh folder (by default exactly what `make demo` runs: the
embedded model on this machine's CPUs), then reads `timings.jsonl` and the stores.

    python benchmarks/run_wall_time.py --out /tmp/walltime [-- extra ditto run options]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

STORES = {"simulate": "simulate", "eval build": "eval-build", "eval seed": "eval-seed", "eval ditto": "eval-ditto"}


def store_totals(run_dir: Path) -> tuple[int, int, int]:
    database = run_dir / "store.sqlite"
    if not database.exists():
        return 0, 0, 0
    with sqlite3.connect(database) as db:
        return db.execute(
            "SELECT COUNT(*), COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0) FROM requests"
        ).fetchone()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="fresh folder for the run (deleted first)")
    parser.add_argument("extra", nargs="*", help="more `ditto run` options, after --")
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    command = [sys.executable, "-m", "ditto", "run", "--out", str(args.out), "--no-progress", *args.extra]
    started = time.perf_counter()
    subprocess.run(command, check=True, env=os.environ | {"PYTHONUNBUFFERED": "1"})
    total = time.perf_counter() - started
    timings = json.loads((args.out / "timings.jsonl").read_text().splitlines()[-1])["seconds"]
    print(f"\ncommand: {' '.join(command[1:])}\ncores: {os.cpu_count()}\n")
    print("| stage | seconds | requests | prompt tokens | completion tokens |")
    print("|---|---|---|---|---|")
    for stage, seconds in timings.items():
        requests, prompt, completion = store_totals(args.out / STORES[stage]) if stage in STORES else (0, 0, 0)
        print(f"| {stage} | {seconds:.0f} | {requests} | {prompt} | {completion} |")
    print(f"| **total (process wall time)** | **{total:.0f}** | | | |")


if __name__ == "__main__":
    main()
