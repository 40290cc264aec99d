"""The `ditto` command: thin wrappers that parse options, call the library, and print.

Errors a user can fix (bad input, bad option values, unreachable servers) come out as one
line on stderr with exit code 2; `main` is where that rule is enforced.
"""

from __future__ import annotations

import sys

import click
import typer

from ditto import __version__
from ditto.cli.annotate import annotate_app
from ditto.cli.characters import characters_app
from ditto.cli.chat import chat_command
from ditto.cli.eval import eval_app
from ditto.cli.generate import generate_command
from ditto.cli.merge_runs import merge_command
from ditto.cli.report import report_command
from ditto.cli.run import run_command
from ditto.cli.simulate import simulate_command
from ditto.cli.study import study_app
from ditto.cli.train import train_app
from ditto.errors import DittoError

app = typer.Typer(
    name="ditto",
    help="Robust role-play for any chat LLM by self-alignment (Ditto, arXiv 2401.12474).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        print(f"ditto {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Robust role-play for any chat LLM by self-alignment (Ditto, arXiv 2401.12474)."""


app.add_typer(characters_app, name="characters")
app.command("generate")(generate_command)
app.command("simulate")(simulate_command)
app.add_typer(train_app, name="train")
app.command("chat")(chat_command)
app.add_typer(eval_app, name="eval")
app.add_typer(annotate_app, name="annotate")
app.command("report")(report_command)
app.command("run")(run_command)
app.command("merge")(merge_command)
app.add_typer(study_app, name="study")


def main(argv: list[str] | None = None) -> None:
    try:
        code = app(args=argv, standalone_mode=False)
    except DittoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except (click.exceptions.Abort, typer.Abort, KeyboardInterrupt):
        print("aborted", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:
        # Click's usage errors (Typer may vendor its own copy of Click, so match by shape).
        if not (hasattr(exc, "format_message") and hasattr(exc, "exit_code")):
            raise
        ctx = getattr(exc, "ctx", None)
        where = f" ({ctx.command_path})" if ctx is not None else ""
        print(f"error{where}: {exc.format_message()}", file=sys.stderr)
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)
