"""The settings `ditto run` and every `ditto study` share, declared once: `run_settings` is
their option list, `run_config` turns the parsed values into a `RunConfig`, and
`with_options` adds such a list to a command's own options.

Typer reads a command's options from its signature, so a shared list is a function whose
parameters are the options; `with_options` gives the command the union of both signatures
and passes the shared values as one dict, `settings`.
"""

import functools
import inspect
import typing
from pathlib import Path

from ditto.cli import options
from ditto.cli.options import setting_option
from ditto.pipeline import RunConfig


def run_settings(
    eval_set: Path = setting_option(RunConfig, "eval_set"),
    characters: str = options.CHARACTERS,
    train_characters: int = setting_option(RunConfig, "train_characters"),
    eval_characters: int = setting_option(RunConfig, "eval_characters"),
    lang: str = setting_option(RunConfig, "langs"),
    turns: int = setting_option(RunConfig, "turns"),
    max_tokens: int = setting_option(RunConfig, "max_tokens"),
    answer_max_tokens: int = setting_option(RunConfig, "answer_max_tokens"),
    judge_n: int = setting_option(RunConfig, "judge_n"),
    judge_max_tokens: int = setting_option(RunConfig, "judge_max_tokens"),
    parsing: str = setting_option(RunConfig, "parsing"),
    recipe: str = setting_option(RunConfig, "recipe"),
    lora: bool = setting_option(RunConfig, "method"),
    epochs: float = setting_option(RunConfig, "epochs"),
    train_steps: int = setting_option(RunConfig, "train_steps", "--max-steps"),
    lr: float = setting_option(RunConfig, "lr", "--train-lr"),
    max_length: int = setting_option(RunConfig, "max_length"),
    train_batch_size: int = setting_option(RunConfig, "train_batch_size"),
    mtbench: Path = setting_option(RunConfig, "mtbench"),
    seed: int = setting_option(RunConfig, "seed"),
    concurrency: int = options.CONCURRENCY,
    timeout: float = options.TIMEOUT,
    max_retries: int = options.MAX_RETRIES,
    batch_size: int = options.BATCH_SIZE,
    structured: str = options.STRUCTURED,
    no_progress: bool = options.NO_PROGRESS,
    dry_run: bool = options.DRY_RUN,
) -> dict:
    return dict(locals())


def run_config(settings: dict, **models: object) -> RunConfig:
    """The `RunConfig` of parsed `run_settings` values; `models` are the command's own fields
    (out, model, teacher, judge and their URLs)."""
    s = settings
    return RunConfig(
        **models, eval_set=s["eval_set"], characters=s["characters"], train_characters=s["train_characters"],
        eval_characters=s["eval_characters"], langs=options.split_list(s["lang"]) if s["lang"] else None,
        turns=s["turns"], max_tokens=s["max_tokens"], answer_max_tokens=s["answer_max_tokens"],
        judge_n=s["judge_n"], judge_max_tokens=s["judge_max_tokens"], parsing=s["parsing"], recipe=s["recipe"],
        method=None if s["lora"] is None else ("lora" if s["lora"] else "full"), epochs=s["epochs"],
        train_steps=s["train_steps"], lr=s["lr"], max_length=s["max_length"], train_batch_size=s["train_batch_size"],
        mtbench=s["mtbench"], seed=s["seed"], progress=not s["no_progress"],
        backend=options.backend_config(s["concurrency"], s["timeout"], s["max_retries"], s["batch_size"],
                                       s["structured"]),
    )


def with_options(*shared: typing.Callable) -> typing.Callable:
    """A decorator: the command gets the options of every function in `shared` after its own,
    and receives their values as one dict, `settings`."""

    def decorate(command: typing.Callable) -> typing.Callable:
        own = inspect.signature(command)
        extra = [p for function in shared for p in inspect.signature(function).parameters.values()]
        parameters = [p for p in own.parameters.values() if p.name != "settings"] + extra
        names = [p.name for p in extra]

        @functools.wraps(command)
        def wrapper(**values):
            settings = {name: values.pop(name) for name in names}
            return command(**values, settings=settings)

        hints = typing.get_type_hints(command)
        for function in shared:
            hints |= typing.get_type_hints(function)
        hints.pop("settings", None)
        wrapper.__signature__ = own.replace(parameters=parameters)
        wrapper.__annotations__ = hints
        return wrapper

    return decorate
