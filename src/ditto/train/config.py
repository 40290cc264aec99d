"""Every setting of a training run, with its default and help text in one place.

Settings left as `None` are filled in by `resolve` once the model's size and the hardware
are known, from the tables below (`LR_TABLE`, `EPOCHS`, `max_length`, `BATCH_SIZE`): the
help text of `ditto train` is written from the same tables, so they cannot disagree.
Schedule: cosine with warm-up, down to a tenth of the peak (the paper: 2e-6 -> 2e-7).
Packing, bf16 and gradient checkpointing are on with CUDA and off on CPU; Liger's kernels
are on with CUDA when liger-kernel is installed (`pip install 'ditto-roleplay[gpu]'`).

The paper fine-tuned 7B-72B models fully at 2e-6 falling to 2e-7 for about 5 epochs on
8,192-token sequences; smaller models and LoRA adapters need larger steps to move at all.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from ditto.errors import DittoError
from ditto.settings import DEFAULT_SEED, check_settings, setting

Method = Literal["lora", "full"]

BILLION = 1_000_000_000

LR_TABLE: dict[str, tuple[tuple[int | None, float], ...]] = {
    "lora": ((3 * BILLION, 2e-4), (None, 1e-4)),
    "full": ((3 * BILLION, 1e-5), (30 * BILLION, 5e-6), (None, 2e-6)),
}
"""Peak learning rate by method: (parameters below which it applies, rate); None: any size.
2e-6 for full fine-tuning from 30B is the paper's."""
EPOCHS = {"lora": 3.0, "full": 5.0}
"""Passes over the data (the paper: about 5, full fine-tuning)."""
LONG_CONTEXT_FROM = 30 * BILLION
MAX_LENGTH, LONG_MAX_LENGTH = 4096, 8192
BATCH_SIZE = {"cuda": 8, "cpu": 2}


def default_lr(method: Method, n_params: int) -> float:
    return next(rate for below, rate in LR_TABLE[method] if below is None or n_params < below)


def max_length(n_params: int) -> int:
    return LONG_MAX_LENGTH if n_params >= LONG_CONTEXT_FROM else MAX_LENGTH


def _lr_help() -> str:
    def rates(method: str) -> str:
        parts, previous = [], None
        for below, rate in LR_TABLE[method]:
            shown = f"{rate:.0e}".replace("e-0", "e-")
            parts.append(shown + (f" from {previous // BILLION}B params" if previous else ""))
            previous = below
        return ", ".join(parts)

    return f"LoRA {rates('lora')}; full {rates('full')} (the paper)"


@dataclass(frozen=True)
class TrainConfig:
    model: str = setting(
        help="Model to fine-tune: 'builtin' (embedded SmolLM2-135M-Instruct), a Hugging Face id, "
        "a local model folder or .gguf file.", short="-m",
    )
    data: Path = setting(help='sft.jsonl from `ditto simulate`: one {"messages": [...]} per line.', short="-d")
    output: Path = setting(
        help="Run folder: adapter (or model), tokenizer, checkpoints, train_log.jsonl, loss.png.", short="-o"
    )
    method: Method = setting("lora", "LoRA adapter or full fine-tuning.", choices=("lora", "full"))
    epochs: float | None = setting(
        None, f"Passes over the data [default: {EPOCHS['lora']:g} with LoRA, {EPOCHS['full']:g} full, "
        "as the paper].", min=0.0,
    )
    max_steps: int = setting(-1, "Stop after this many optimizer steps (overrides --epochs when > 0).")
    lr: float | None = setting(
        None, f"Peak learning rate, cosine down to a tenth after 3% warm-up [default: {_lr_help()}].", min=0.0
    )
    min_lr_ratio: float = 0.1
    warmup_ratio: float = 0.03
    batch_size: int | None = setting(
        None, "Sequences (packed rows when packing) per device per step "
        f"[default: {BATCH_SIZE['cuda']} on GPU, {BATCH_SIZE['cpu']} on CPU].", min=1,
    )
    grad_accum: int = setting(1, "Micro-batches per optimizer step.", min=1)
    max_length: int | None = setting(
        None, "Tokens per sequence (per packed row); longer conversations are cut "
        f"[default: {MAX_LENGTH}, {LONG_MAX_LENGTH} from {LONG_CONTEXT_FROM // BILLION}B params].", min=16,
    )
    seed: int = setting(DEFAULT_SEED, "Seed for initialisation and data order.")
    lora_rank: int = setting(16, "LoRA rank.", min=1)
    lora_alpha: int | None = setting(None, "LoRA alpha [default: twice the rank].", min=1)
    lora_dropout: float = 0.05
    lora_targets: tuple[str, ...] = setting(
        ("all-linear",), "Comma-separated module names to adapt, or 'all-linear'."
    )
    packing: bool | None = setting(
        None, flag="--packing/--no-packing",
        help="Pack whole conversations into rows, no attention across them [default: on with CUDA]."
    )
    gradient_checkpointing: bool | None = setting(
        None, flag="--gradient-checkpointing/--no-gradient-checkpointing",
        help="Recompute activations in the backward pass to save memory [default: on with CUDA]."
    )
    bf16: bool | None = None
    liger: bool | None = setting(
        None, flag="--liger/--no-liger",
        help="Liger's Triton kernels for RMSNorm, SwiGLU and RoPE (1.2x the tokens/s of full fine-tuning "
        "of a 1.5B model on an H200) [default: on with CUDA when liger-kernel is installed: "
        "pip install 'ditto-roleplay[gpu]'].",
    )
    """TRL's `use_liger_kernel`; the loss already goes through TRL's own chunked LM head,
    which never materialises the logits."""
    save_steps: int = setting(500, "Write a checkpoint every this many steps (the last two are kept).", min=1)
    logging_steps: int = 1
    resume: bool = setting(False, "Continue from the last checkpoint in --output.")
    progress: bool = True
    attn_implementation: str | None = None
    """None picks the fastest correct one (see `ditto.train.attention`)."""
    extra: dict = setting(factory=dict)
    """Any other `trl.SFTConfig` field, for what this config does not name."""

    def __post_init__(self) -> None:
        check_settings(self)


def resolve_liger(asked: bool | None, cuda: bool, installed: bool) -> bool:
    if asked is None:
        return cuda and installed
    if asked and not installed:
        raise DittoError(
            "--liger: liger-kernel is not installed (pip install 'ditto-roleplay[gpu]')"
        )
    if asked and not cuda:
        raise DittoError("--liger: Liger's kernels run on a CUDA GPU only; drop --liger on CPU")
    return asked


def resolve(
    config: TrainConfig, n_params: int, cuda: bool, liger_installed: bool = False
) -> TrainConfig:
    """The config with every `None` replaced by its default for this model and machine."""
    return replace(
        config,
        epochs=config.epochs if config.epochs is not None else EPOCHS[config.method],
        lr=config.lr if config.lr is not None else default_lr(config.method, n_params),
        batch_size=config.batch_size or BATCH_SIZE["cuda" if cuda else "cpu"],
        max_length=config.max_length or max_length(n_params),
        lora_alpha=config.lora_alpha or 2 * config.lora_rank,
        packing=cuda if config.packing is None else config.packing,
        gradient_checkpointing=cuda
        if config.gradient_checkpointing is None
        else config.gradient_checkpointing,
        bf16=cuda if config.bf16 is None else config.bf16,
        liger=resolve_liger(config.liger, cuda, liger_installed),
    )
