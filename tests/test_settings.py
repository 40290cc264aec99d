"""Each setting is defined once: a command given no options builds exactly the library's
default config, and every option of a stage command is a setting of that stage's class."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer

from ditto.cli import app, main
from ditto.errors import DittoError
from ditto.evaluate.config import EvalConfig, JudgeConfig
from ditto.models.config import BackendConfig
from ditto.pipeline import EMBEDDED_MODEL_DEFAULTS, RunConfig
from ditto.settings import check_settings, flag_of, setting, setting_field
from ditto.simulate.config import SimulateConfig
from ditto.train.config import TrainConfig
from ditto.types import SamplingParams
from tests.evaluate.test_eval_sets import TOP_LEVEL_STYLE, write_lines


class Captured(Exception):
    """Raised by a stand-in for a stage's entry point once the CLI has built its config."""

    def __init__(self, *args) -> None:
        self.values = args


def capture(*args, **kwargs):
    raise Captured(*args, *kwargs.values())


def config_built_by(monkeypatch, target: str, argv: list[str]):
    monkeypatch.setattr(target, capture)
    with pytest.raises(Captured) as caught:
        main(argv)
    return next(v for v in caught.value.values if hasattr(v, "__dataclass_fields__") or isinstance(v, SamplingParams))


def test_simulate_defaults_are_the_librarys(monkeypatch):
    config = config_built_by(monkeypatch, "ditto.cli.simulate.estimate_simulation", ["simulate", "--dry-run"])
    assert config == SimulateConfig()


def test_eval_build_defaults_are_the_librarys(monkeypatch, tmp_path):
    config = config_built_by(monkeypatch, "ditto.cli.eval.estimate_simulation",
                             ["eval", "build", "--out", str(tmp_path / "e.jsonl"), "--dry-run"])
    assert config.character_ids  # the held-out characters of the pool
    assert SimulateConfig(character_ids=config.character_ids) == config


def test_eval_run_defaults_are_the_librarys(monkeypatch, tmp_path):
    eval_file = write_lines(tmp_path / "eval.jsonl", TOP_LEVEL_STYLE)
    config = config_built_by(monkeypatch, "ditto.cli.eval.estimate_evaluation",
                             ["eval", "run", "--eval", str(eval_file), "--out", str(tmp_path / "run"), "--dry-run"])
    assert config == EvalConfig()


def test_run_defaults_are_the_librarys(monkeypatch):
    config = config_built_by(monkeypatch, "ditto.cli.run.estimate_run", ["run", "--dry-run"])
    assert config == RunConfig()


def test_train_defaults_are_the_librarys(monkeypatch, tmp_path):
    data, output = tmp_path / "sft.jsonl", tmp_path / "out"
    config = config_built_by(monkeypatch, "ditto.train.train", ["train", "--data", str(data), "--output", str(output)])
    assert config == TrainConfig(model="builtin", data=data, output=output)


def test_generate_samples_with_the_librarys_defaults(monkeypatch, tmp_path):
    chats = tmp_path / "chats.jsonl"
    chats.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n")
    params = config_built_by(monkeypatch, "ditto.cli.generate.generate_records",
                             ["generate", "-i", str(chats), "-o", str(tmp_path / "out.jsonl"),
                              "--run", str(tmp_path / "r")])
    assert params == SamplingParams()


# Options that are not stage settings: what to read and write, which model, how to run.
NOT_SETTINGS = {"--model", "--base-url", "--teacher", "--teacher-base-url", "--judge", "--judge-base-url",
                "--characters", "--run", "--out", "--eval", "--exclude-train", "--mtbench", "--limit",
                "--no-progress", "--shard", "--dry-run", "--data", "--output", "--answers", "--with-profile"}
STAGE_SETTINGS = {
    ("simulate",): [SimulateConfig],
    ("eval", "build"): [SimulateConfig],
    ("eval", "run"): [EvalConfig, JudgeConfig],
    ("eval", "judge"): [EvalConfig, JudgeConfig],
    ("train",): [TrainConfig],
    ("run",): [RunConfig],
}


def command(path: tuple[str, ...]):
    found = typer.main.get_command(app)
    for name in path:
        found = found.commands[name]
    return found


@pytest.mark.parametrize("path", list(STAGE_SETTINGS), ids=" ".join)
def test_every_option_of_a_stage_is_a_setting_with_the_same_default(path):
    classes = [*STAGE_SETTINGS[path], BackendConfig]
    # a switch's setting is named by its first flag: "--lora/--full" -> "--lora"
    settings = {flag_of(cls, name).split("/")[0]: (cls, name) for cls in classes for name in cls.__dataclass_fields__}
    for option in command(path).params:
        flag = next(f for f in option.opts if f.startswith("--"))
        if flag in NOT_SETTINGS:
            continue
        assert flag in settings, f"ditto {' '.join(path)} {flag} is not a setting of {[c.__name__ for c in classes]}"
        cls, name = settings[flag]
        library = cls.__dataclass_fields__[name].default
        shown = ",".join(library) if isinstance(library, tuple) else library
        assert option.default == shown, f"{flag}: the CLI says {option.default!r}, {cls.__name__} {library!r}"


def test_the_embedded_rule_is_stated_in_help_and_applied_only_to_the_embedded_model():
    run = command(("run",))
    helps = {next(f for f in o.opts if f.startswith("--")): o.help for o in run.params}
    assert "[default: 5; 3 with the embedded model]" in helps["--turns"]
    assert "[default: en,zh; en with the embedded model]" in helps["--lang"]
    embedded, other = RunConfig(), RunConfig(model="Qwen/Qwen2.5-7B-Instruct")
    assert embedded.simulate_config().turns == EMBEDDED_MODEL_DEFAULTS["turns"] == 3
    assert other.simulate_config() == SimulateConfig()
    assert other.eval_config() == EvalConfig()
    assert embedded.eval_config().judge.max_tokens == EMBEDDED_MODEL_DEFAULTS["judge_max_tokens"]
    assert RunConfig(turns=4).simulate_config().turns == 4  # given beats the rule
    assert other.train_config(Path("d"), Path("o")).max_steps is None  # epochs, as `ditto train`
    assert embedded.train_config(Path("d"), Path("o")).max_steps == 8


# `ditto run` passes these on to training: each is `TrainConfig`'s own setting.
RUN_TRAIN_SETTINGS = ("recipe", "method", "epochs", "lr", "max_length")


@pytest.mark.parametrize("name", RUN_TRAIN_SETTINGS)
def test_training_options_of_run_are_the_training_settings(name):
    run, train = setting_field(RunConfig, name), setting_field(TrainConfig, name)
    assert run.default == train.default
    assert flag_of(RunConfig, name) == flag_of(TrainConfig, name)
    assert run.metadata["help"].endswith(train.metadata["help"])
    assert {k: v for k, v in run.metadata.items() if k != "help"} == {
        k: v for k, v in train.metadata.items() if k != "help"
    }


def test_run_passes_training_options_on(monkeypatch):
    config = config_built_by(monkeypatch, "ditto.cli.run.estimate_run", [
        "run", "--dry-run", "--model", "Qwen/Qwen2.5-7B-Instruct", "--recipe", "paper", "--full", "--lr", "1e-5",
        "--epochs", "2", "--max-length", "512", "--train-steps", "40", "--train-batch-size", "4",
    ])
    trained = config.train_config(Path("d"), Path("o"))
    assert trained == TrainConfig(model="Qwen/Qwen2.5-7B-Instruct", data=Path("d"), output=Path("o"),
                                  recipe="paper", method="full", lr=1e-5, epochs=2.0, max_length=512,
                                  max_steps=40, batch_size=4, save_steps=40)
    plain = config_built_by(monkeypatch, "ditto.cli.run.estimate_run",
                            ["run", "--dry-run", "--lora", "--train-lr", "3e-4"])
    assert (plain.method, plain.lr, plain.recipe) == ("lora", 3e-4, None)  # --train-lr: the old name of --lr


def test_limits_hold_for_library_callers_too():
    with pytest.raises(DittoError, match="--turns 0: must be at least 1"):
        SimulateConfig(turns=0)
    with pytest.raises(DittoError, match="--contrast sideways: must be one of random, hard"):
        SimulateConfig(contrast="sideways")
    with pytest.raises(DittoError, match="--top-p 0.0: must be above 0"):
        EvalConfig(top_p=0.0)

    @dataclass
    class Example:
        rate: float = setting(0.5, "A rate.", flag="--the-rate", max=1.0)

    with pytest.raises(DittoError, match="--the-rate 2: must be at most 1.0"):
        check_settings(Example(rate=2))


def test_a_bad_value_is_one_line_and_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["simulate", "--contrast", "sideways", "--dry-run"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip() == "error: --contrast sideways: must be one of random, hard"
