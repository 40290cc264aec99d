"""`--recipe paper`: the paper's fine-tuning recipe (arXiv 2401.12474) as trainer arguments.

The expected numbers are the paper's, written here by hand, not read from ditto's table:
full fine-tuning, learning rate 2e-6 falling by cosine to 2e-7, warm-up ratio 0.1, a global
batch of 128 conversations, 5 epochs or 300 steps (whichever comes first), 8,192 tokens.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from ditto.cli import main
from ditto.errors import DittoError
from ditto.train.config import BILLION, TrainConfig, grad_accum_for, resolve

PEAK, FLOOR, WARMUP, GLOBAL_BATCH, EPOCHS, STEPS, LENGTH = 2e-6, 2e-7, 0.1, 128, 5.0, 300, 8192


def paper(**overrides) -> TrainConfig:
    return TrainConfig(model="builtin", data=Path("sft.jsonl"), output=Path("out"), recipe="paper", **overrides)


def test_the_paper_recipe_gives_the_papers_trainer_arguments():
    from ditto.train.trainer import trainer_arguments

    resolved = resolve(paper(), n_params=7 * BILLION, cuda=False)
    args = trainer_arguments(resolved, cuda=False)
    assert resolved.method == "full"
    assert args.learning_rate == PEAK
    assert str(getattr(args.lr_scheduler_type, "value", args.lr_scheduler_type)) == "cosine_with_min_lr"
    assert args.learning_rate * args.lr_scheduler_kwargs["min_lr_rate"] == pytest.approx(FLOOR)
    assert args.get_warmup_steps(STEPS) == WARMUP * STEPS
    assert (args.num_train_epochs, args.max_steps, args.max_length) == (EPOCHS, STEPS, LENGTH)
    assert args.world_size * args.per_device_train_batch_size * args.gradient_accumulation_steps == GLOBAL_BATCH
    assert not args.packing  # so that a batch counts conversations


@pytest.mark.parametrize(("world_size", "expected"), [(1, 16), (2, 8), (8, 2)])
def test_gradient_accumulation_makes_a_global_batch_of_128(world_size, expected):
    resolved = resolve(paper(), 7 * BILLION, cuda=True, world_size=world_size)
    assert resolved.batch_size == 8  # the GPU default per device
    assert resolved.grad_accum == expected
    assert world_size * resolved.batch_size * resolved.grad_accum == GLOBAL_BATCH
    assert resolve(paper(batch_size=4), 7 * BILLION, cuda=True, world_size=world_size).grad_accum == 2 * expected


def test_options_given_beside_the_recipe_override_it():
    resolved = resolve(
        paper(method="lora", lr=1e-5, epochs=1.0, max_steps=-1, max_length=512, grad_accum=3, packing=True,
              warmup_ratio=0.0),
        7 * BILLION, cuda=False,
    )
    assert (resolved.method, resolved.lr, resolved.epochs, resolved.max_steps, resolved.max_length) == (
        "lora", 1e-5, 1.0, -1, 512
    )
    assert (resolved.grad_accum, resolved.packing, resolved.warmup_ratio) == (3, True, 0.0)
    assert resolved.min_lr_ratio * PEAK == pytest.approx(FLOOR)  # what was not given still comes from the recipe


def test_without_a_recipe_the_defaults_are_dittos():
    resolved = resolve(TrainConfig(model="builtin", data=Path("d"), output=Path("o")), 7 * BILLION, cuda=True)
    assert (resolved.method, resolved.lr, resolved.epochs, resolved.max_steps) == ("lora", 1e-4, 3.0, -1)
    assert (resolved.warmup_ratio, resolved.min_lr_ratio, resolved.grad_accum, resolved.packing) == (0.03, 0.1, 1, True)
    steps_only = resolve(TrainConfig(model="builtin", data=Path("d"), output=Path("o"), max_steps=8), 1, cuda=False)
    assert (steps_only.epochs, steps_only.max_steps) == (None, 8)  # exactly 8 steps, as before


@pytest.mark.parametrize(
    ("world_size", "batch_size", "fix"),
    [(1, 6, "pick a --batch-size that divides 128"), (3, 8, "run on a number of processes that divides 128")],
)
def test_a_global_batch_that_does_not_split_is_an_error_naming_the_option(world_size, batch_size, fix):
    with pytest.raises(DittoError, match=f"^--batch-size {batch_size}: .*{fix}, or give --grad-accum$"):
        grad_accum_for(GLOBAL_BATCH, world_size, batch_size)
    with pytest.raises(DittoError, match=f"^--batch-size {batch_size}: "):
        resolve(paper(batch_size=batch_size), 7 * BILLION, cuda=True, world_size=world_size)
    # an explicit --grad-accum is taken as it is: the global batch is then the user's
    assert resolve(paper(batch_size=batch_size, grad_accum=5), 1, cuda=True, world_size=world_size).grad_accum == 5


def test_the_command_line_refuses_it_with_exit_2_before_loading_the_model(
    tiny_model_dir, sft_file, tmp_path, capsys
):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--recipe", "paper", "--model", str(tiny_model_dir), "--data", str(sft_file),
              "--output", str(tmp_path / "out"), "--batch-size", "6"])
    assert exit_.value.code == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: --batch-size 6: the recipe's global batch of 128")


def test_an_unknown_recipe_is_refused():
    with pytest.raises(DittoError, match="^--recipe nanogpt: must be one of paper$"):
        TrainConfig(model="m", data=Path("d"), output=Path("o"), recipe="nanogpt")


@pytest.mark.parametrize(
    ("epochs", "max_steps", "per_epoch", "expected"),
    [(5.0, 300, 10, 50), (5.0, 300, 100, 300), (0.5, 300, 3, 2), (5.0, 2, 1, 2)],
)
def test_epochs_or_steps_whichever_comes_first(epochs, max_steps, per_epoch, expected):
    from ditto.train.trainer import capped_steps

    assert capped_steps(epochs, max_steps, per_epoch) == expected


def paper_lr(step: int, total: int) -> float:
    """The paper's schedule written out: linear warm-up over the first 10% of steps, then a
    half cosine from 2e-6 to 2e-7 at the last step."""
    warmup = math.ceil(WARMUP * total)
    if step < warmup:
        return PEAK * step / warmup
    progress = (step - warmup) / (total - warmup)
    return FLOOR + (PEAK - FLOOR) * 0.5 * (1 + math.cos(math.pi * progress))


@pytest.mark.slow
def test_a_tiny_run_follows_the_papers_schedule_and_stops_at_its_epochs(tiny_model_dir, sft_file, tmp_path):
    """Six conversations, 2 per micro-batch on CPU, 64 micro-batches per step: one step per
    epoch, so `epochs=3` ends after 3 steps, long before 300. Step k uses the rate the
    schedule gives after k - 1 steps (the first, warming up, uses 0); at the middle step the
    min-lr cosine gives 1.1e-6 where a plain cosine to 0 would give 1e-6."""
    from ditto.train import train
    from ditto.train.callbacks import read_log

    out = tmp_path / "paper"
    result = train(TrainConfig(model=str(tiny_model_dir), data=sft_file, output=out, recipe="paper", epochs=3.0,
                               progress=False))
    assert (result.config.method, result.config.grad_accum, result.steps) == ("full", 64, 3)
    log = read_log(out / "train_log.jsonl")
    assert [r["step"] for r in log] == [1, 2, 3]
    assert [r["lr"] for r in log] == pytest.approx([paper_lr(k - 1, 3) for k in (1, 2, 3)], rel=1e-6, abs=1e-15)
    assert log[-1]["lr"] == pytest.approx(1.1e-6)
    assert paper_lr(3, 3) == pytest.approx(FLOOR)  # where the schedule ends, after the last step
    record = json.loads((out / "ditto_train.json").read_text())
    assert record["config"]["recipe"] == "paper" and record["inputs"]["settings"]["recipe_values"]["lr"] == PEAK
