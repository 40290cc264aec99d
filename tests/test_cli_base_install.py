"""The CLI on the base install: without pandas and matplotlib (the `report` extra), every
`--help` works, `ditto eval score` scores a judged file and `ditto report` asks for the extra.

The extra's packages are installed in the test environment, so a subprocess hides them: a
`sys.meta_path` finder raises ImportError for them before anything of ditto is imported.
One subprocess walks every command in-process, each `--help` a fresh `main()` call.
"""

import json
import subprocess
import sys
import textwrap

from tests.evaluate.test_scoring import RECORDS, write_jsonl

BLOCKED = ("pandas", "matplotlib")

SCRIPT = textwrap.dedent(
    """
    import contextlib, io, json, sys

    BLOCKED = set(sys.argv[1].split(","))

    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{name} is blocked (not in the base install)", name=name)
            return None

    sys.meta_path.insert(0, Block())

    import typer
    import ditto.cli

    def command_paths(command, path=()):
        yield path
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            yield from command_paths(sub, (*path, name))

    def run(argv):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            try:
                ditto.cli.main(argv)
                code = 0
            except SystemExit as exc:
                code = exc.code
        return code, out.getvalue()

    helps = {}
    for path in command_paths(typer.main.get_command(ditto.cli.app)):
        code, out = run([*path, "--help"])
        helps[" ".join(path)] = [code, "Usage:" in out]
    score_code, score_out = run(["eval", "score", sys.argv[2] + "/judged.jsonl", "--json", "--bootstrap", "20"])
    report_code, _ = run(["report", sys.argv[2], "--out", sys.argv[2] + "/report"])
    print(json.dumps({"helps": helps, "score": [score_code, score_out], "report": report_code}))
    """
)


def test_the_cli_without_pandas_and_matplotlib(tmp_path):
    write_jsonl(tmp_path / "judged.jsonl", RECORDS)  # also an evaluation run directory
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, ",".join(BLOCKED), str(tmp_path)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.splitlines()[-1])
    helps = report["helps"]
    assert {"", "eval", "eval score", "report"} <= set(helps)
    failing = {path or "ditto": outcome for path, outcome in helps.items() if outcome != [0, True]}
    assert not failing, failing
    code, out = report["score"]
    assert code == 0
    # The hand-worked means of tests/evaluate/test_scoring.py.
    assert json.loads(out)["all"] == {"consistency": 0.58, "knowledge": 7.0, "rejection": 0.67}
    # `ditto report` needs matplotlib for its charts: one line naming the extra, exit 2.
    assert report["report"] == 2
    assert "error: the report's charts need matplotlib: pip install 'ditto-roleplay[report]'" in result.stderr
