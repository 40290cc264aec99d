"""`ditto train` (fine-tune on sft.jsonl) and `ditto train merge` (adapter -> whole model)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import typer

from ditto.cli import options
from ditto.cli.options import setting_option
from ditto.models.builtin import BUILTIN_NAME
from ditto.train.config import TrainConfig

train_app = typer.Typer(
    help="Fine-tune a model on its own simulated dialogues (loss on the assistant's replies only).",
    add_completion=False,
    rich_markup_mode=None,
)


@train_app.callback(invoke_without_command=True)
def train_command(
    ctx: typer.Context,
    model: str = setting_option(TrainConfig, "model", default=BUILTIN_NAME),
    data: Path = setting_option(TrainConfig, "data", default=None),
    output: Path = setting_option(TrainConfig, "output", default=None),
    recipe: str = setting_option(TrainConfig, "recipe"),
    lora: bool = setting_option(TrainConfig, "method"),
    epochs: float = setting_option(TrainConfig, "epochs"),
    max_steps: int = setting_option(TrainConfig, "max_steps"),
    lr: float = setting_option(TrainConfig, "lr"),
    batch_size: int = setting_option(TrainConfig, "batch_size"),
    grad_accum: int = setting_option(TrainConfig, "grad_accum"),
    max_length: int = setting_option(TrainConfig, "max_length"),
    seed: int = setting_option(TrainConfig, "seed"),
    lora_rank: int = setting_option(TrainConfig, "lora_rank"),
    lora_alpha: int = setting_option(TrainConfig, "lora_alpha"),
    lora_targets: str = setting_option(TrainConfig, "lora_targets"),
    packing: bool = setting_option(TrainConfig, "packing"),
    gradient_checkpointing: bool = setting_option(TrainConfig, "gradient_checkpointing"),
    liger: bool = setting_option(TrainConfig, "liger"),
    save_steps: int = setting_option(TrainConfig, "save_steps"),
    resume: bool = setting_option(TrainConfig, "resume"),
    no_progress: bool = options.NO_PROGRESS,
) -> None:
    """Fine-tune MODEL on sft.jsonl; `ditto train merge DIR -o MERGED` folds a LoRA adapter in."""
    if ctx.invoked_subcommand is not None:
        return
    if data is None or output is None:
        raise click.UsageError("--data and --output are required", ctx=ctx)
    from ditto import train as training

    config = TrainConfig(
        model=model,
        data=data,
        output=output,
        recipe=recipe,
        method=None if lora is None else ("lora" if lora else "full"),
        epochs=epochs,
        max_steps=max_steps,
        lr=lr,
        batch_size=batch_size,
        grad_accum=grad_accum,
        max_length=max_length,
        seed=seed,
        lora_rank=lora_rank,
        lora_alpha=lora_alpha,
        lora_targets=options.split_list(lora_targets),
        packing=packing,
        gradient_checkpointing=gradient_checkpointing,
        liger=liger,
        save_steps=save_steps,
        resume=resume,
        progress=not no_progress,
    )
    result = training.train(config)
    if result.main_process:
        loss = f"{result.loss:.4f}" if result.loss is not None else "n/a"
        what = "adapter" if config.method == "lora" else "model"
        print(
            f"trained {result.steps} steps, last loss {loss}; {what} in {result.output} "
            f"(train_log.jsonl{', loss.png' if result.plot else ''})",
            file=sys.stderr,
        )


@train_app.command("merge")
def merge_command(
    adapter_dir: Path = typer.Argument(..., help="A folder written by `ditto train` (LoRA)."),
    output: Path = typer.Option(
        ...,
        "--output",
        "-o",
        help="New folder for the merged model (safetensors, config, tokenizer).",
    ),
    dtype: str = typer.Option(
        "auto",
        "--dtype",
        help="auto (the base's own; float32 for a GGUF base), bfloat16, float16 or float32.",
    ),
) -> None:
    """Fold a LoRA adapter into its base model: a plain Hugging Face folder that vLLM serves."""
    from ditto.train.merge_adapter import merge_adapter

    merge_adapter(adapter_dir, output, dtype)
    print(f"wrote merged model to {output}", file=sys.stderr)
