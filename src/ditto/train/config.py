"""Every setting of a training run, with its default and help text in one place.

Settings left as `None` are filled in by `resolve` once the model's size and the hardware
are known: first from the recipe, when one is named (`--recipe paper`: `RECIPES`), then
from the tables below (`LR_TABLE`, `EPOCHS`, `max_length`, `BATCH_SIZE`, ...). The help
text of `ditto train` is written from the same tables, so they cannot disagree. A setting
given explicitly always wins over the recipe and the tables.
Schedule: cosine with warm-up, down to a tenth of the peak (the paper: 2e-6 -> 2e-7).
Packing, bf16 and gradient checkpointing are on with CUDA and off on CPU; Liger's kernels
are on with CUDA when liger-kernel is installed (`pip install 'ditto-roleplay[gpu]'`).

The paper fine-tuned 7B-72B models fully at 2e-6 falling to 2e-7 for about 5 epochs on
8,192-token sequences (`PAPER_RECIPE`); smaller models and LoRA adapters need larger steps
to move at all, hence ditto's own defaults.
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
"""Sequences (packed rows when packing) per device per step."""
WARMUP_RATIO = 0.03
"""Share of all steps spent warming up linearly from 0 to the peak."""
MIN_LR_RATIO = 0.1
"""Where the cosine ends, as a share of the peak (the paper's 2e-7 / 2e-6)."""


@dataclass(frozen=True)
class Recipe:
    """A named set of training settings, each filling a setting left unset (None); a setting
    given explicitly beside the recipe wins. `global_batch` sets the gradient accumulation:
    global_batch / (processes x per-device batch), which must be whole."""

    method: Method
    lr: float
    min_lr_ratio: float
    warmup_ratio: float
    global_batch: int
    epochs: float
    max_steps: int
    """With `epochs`, whichever comes first."""
    max_length: int
    packing: bool
    """Off: a batch then counts conversations, as the paper's global batch does."""


PAPER_RECIPE = Recipe(
    method="full",  # full fine-tuning of the seed model
    lr=2e-6,  # peak, after warm-up
    min_lr_ratio=0.1,  # cosine down to 2e-7
    warmup_ratio=0.1,
    global_batch=128,  # conversations per optimizer step, over all processes
    epochs=5.0,
    max_steps=300,  # 5 epochs or 300 steps, whichever comes first
    max_length=8192,
    packing=False,
)
"""The paper's fine-tuning recipe (arXiv 2401.12474: full fine-tuning, lr 2e-6 with cosine
decay to 2e-7, warm-up ratio 0.1, global batch 128, 5 epochs or 300 steps, sequences of
8,192 tokens), the one place ditto writes it down. "5 epochs or 300 steps" is read as 5
epochs capped at 300 optimizer steps: the cosine then always ends at 2e-7 when training
ends, whatever the data size."""
RECIPES: dict[str, Recipe] = {"paper": PAPER_RECIPE}


def default_lr(method: Method, n_params: int) -> float:
    return next(rate for below, rate in LR_TABLE[method] if below is None or n_params < below)


def max_length(n_params: int) -> int:
    return LONG_MAX_LENGTH if n_params >= LONG_CONTEXT_FROM else MAX_LENGTH


def _rate(rate: float) -> str:
    """2e-06 -> '2e-6', as the paper writes it."""
    return f"{rate:.0e}".replace("e-0", "e-")


def _lr_help() -> str:
    def rates(method: str) -> str:
        parts, previous = [], None
        for below, rate in LR_TABLE[method]:
            shown = _rate(rate)
            parts.append(shown + (f" from {previous // BILLION}B params" if previous else ""))
            previous = below
        return ", ".join(parts)

    return f"LoRA {rates('lora')}; full {rates('full')} (the paper)"


def _recipe_help(recipe: Recipe) -> str:
    """The recipe in one line, from its own values."""
    return (
        f"{recipe.method} fine-tuning, lr {_rate(recipe.lr)} cosine to {_rate(recipe.lr * recipe.min_lr_ratio)}, "
        f"{recipe.warmup_ratio:.0%} warm-up, a global batch of {recipe.global_batch} conversations, "
        f"{recipe.epochs:g} epochs or {recipe.max_steps} steps (whichever comes first), "
        f"{recipe.max_length:,}-token sequences, as the paper"
    )


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
    recipe: str | None = setting(
        None, f"Take every setting not given from a named recipe: 'paper' is {_recipe_help(PAPER_RECIPE)}. "
        "Options given beside it override the recipe's values.", choices=tuple(RECIPES),
    )
    method: Method | None = setting(
        None, flag="--lora/--full", choices=("lora", "full"),
        help=f"LoRA adapter or full fine-tuning [default: LoRA; {PAPER_RECIPE.method} with --recipe paper].",
    )
    epochs: float | None = setting(
        None, f"Passes over the data [default: {EPOCHS['lora']:g} with LoRA, {EPOCHS['full']:g} full, "
        "as the paper; none when only --max-steps is given].", min=0.0,
    )
    max_steps: int | None = setting(
        None, "Stop after this many optimizer steps: alone, exactly that many; with --epochs (or a recipe's), "
        f"whichever comes first; -1 for no limit [default: none; {PAPER_RECIPE.max_steps} with --recipe paper].",
    )
    lr: float | None = setting(
        None, f"Peak learning rate, cosine down to a tenth after {WARMUP_RATIO:.0%} warm-up "
        f"({PAPER_RECIPE.warmup_ratio:.0%} with --recipe paper) [default: {_lr_help()}].", min=0.0,
    )
    min_lr_ratio: float | None = setting(None, f"Cosine floor / peak [default: {MIN_LR_RATIO:g}].", min=0.0, max=1.0)
    warmup_ratio: float | None = setting(None, f"Warm-up share of all steps [default: {WARMUP_RATIO:g}].",
                                         min=0.0, max=1.0)
    batch_size: int | None = setting(
        None, "Sequences (packed rows when packing) per device per step "
        f"[default: {BATCH_SIZE['cuda']} on GPU, {BATCH_SIZE['cpu']} on CPU].", min=1,
    )
    grad_accum: int | None = setting(
        None, f"Micro-batches per optimizer step [default: 1; with --recipe paper, {PAPER_RECIPE.global_batch} / "
        "(processes x --batch-size), which must be whole].", min=1,
    )
    max_length: int | None = setting(
        None, "Tokens per sequence (per packed row); longer conversations are cut "
        f"[default: {MAX_LENGTH}, {LONG_MAX_LENGTH} from {LONG_CONTEXT_FROM // BILLION}B params; "
        f"{PAPER_RECIPE.max_length} with --recipe paper].", min=16,
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
        help="Pack whole conversations into rows, no attention across them [default: on with CUDA; "
        "off with --recipe paper, whose batch counts conversations]."
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


def grad_accum_for(global_batch: int, world_size: int, batch_size: int) -> int:
    """Micro-batches per optimizer step so that `world_size` processes of `batch_size` each
    make `global_batch` sequences: refused unless it divides exactly, since a rounded value
    would silently train with another batch than the recipe's."""
    per_step = world_size * batch_size
    if global_batch % per_step == 0:
        return global_batch // per_step
    problem = (
        f"--batch-size {batch_size}: the recipe's global batch of {global_batch} is not {world_size} "
        f"process(es) x {batch_size} x a whole number of micro-batches"
    )
    if global_batch % world_size:
        fix = f"run on a number of processes that divides {global_batch}, or give --grad-accum"
    else:
        fix = f"pick a --batch-size that divides {global_batch // world_size}, or give --grad-accum"
    raise DittoError(f"{problem}; {fix}")


def resolve(
    config: TrainConfig, n_params: int, cuda: bool, liger_installed: bool = False, world_size: int = 1
) -> TrainConfig:
    """The config with every `None` replaced: by the recipe's value when one is named, else by
    the default for this model and machine. `world_size` (processes) sizes a recipe's batch."""
    recipe = RECIPES[config.recipe] if config.recipe else None

    def given(name: str) -> object:
        """The value asked for, else the recipe's, else None."""
        value = getattr(config, name)
        return getattr(recipe, name) if value is None and recipe is not None else value

    method = given("method") or "lora"
    max_steps = given("max_steps")
    epochs = given("epochs")
    if epochs is None and (max_steps is None or max_steps <= 0):
        epochs = EPOCHS[method]  # only --max-steps given: exactly that many steps, no epoch limit
    batch_size = config.batch_size or BATCH_SIZE["cuda" if cuda else "cpu"]
    grad_accum = config.grad_accum
    if grad_accum is None:
        grad_accum = grad_accum_for(recipe.global_batch, world_size, batch_size) if recipe else 1
    lr = given("lr")
    packing = given("packing")
    return replace(
        config,
        method=method,
        epochs=epochs,
        max_steps=-1 if max_steps is None else max_steps,
        lr=lr if lr is not None else default_lr(method, n_params),
        min_lr_ratio=_or(given("min_lr_ratio"), MIN_LR_RATIO),
        warmup_ratio=_or(given("warmup_ratio"), WARMUP_RATIO),
        batch_size=batch_size,
        grad_accum=grad_accum,
        max_length=given("max_length") or max_length(n_params),
        lora_alpha=config.lora_alpha or 2 * config.lora_rank,
        packing=cuda if packing is None else packing,
        gradient_checkpointing=cuda
        if config.gradient_checkpointing is None
        else config.gradient_checkpointing,
        bf16=cuda if config.bf16 is None else config.bf16,
        liger=resolve_liger(config.liger, cuda, liger_installed),
    )


def _or(value: float | None, default: float) -> float:
    """`value` unless unset; 0.0 is a value (no warm-up), so not `value or default`."""
    return default if value is None else value
