"""`ditto ARGS` run inside the test process through the same entry point as the console script
(`ditto.cli.main`: its exit codes and one-line errors), without a new interpreter's start-up
(about a second each). Tests of what a separate process adds (signals, two processes on one
run directory, the console script itself) keep using subprocesses."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass

from ditto.cli import main


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def ditto_in_process(*args: str) -> Result:
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    return Result(code, out.getvalue(), err.getvalue())
