"""Stage 3 of Ditto: fine-tune the seed model on the dialogues it simulated itself.

`train(config)` is the whole recipe, top to bottom: read the data, size the defaults,
load the model, tokenize with the assistant-only mask, run TRL's SFTTrainer, save the
adapter (or model) with its tokenizer and chat template, plot the loss. The system prompt
in the data is already the short "You are {name}, {description}." of the paper: the
profile itself is gone, so the model must learn to recall the character on its own.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ditto import __version__
from ditto.chat_files import write_text_atomic
from ditto.errors import DittoError
from ditto.models.builtin import BUILTIN_NAME
from ditto.models.huggingface import TRAIN_RECORD, end_of_turn_ids, load_pretrained, resolve_source
from ditto.train import attention as varlen
from ditto.train.callbacks import AlreadyTrained, EndIfAlreadyTrained, TrainLog, flops_per_token, peak_flops
from ditto.train.config import TrainConfig, resolve
from ditto.train.data import DataStats, build_dataset, ensure_pad_token, read_sft
from ditto.train.plot import plot_loss

if TYPE_CHECKING:  # torch, transformers and TRL load on first use
    from trl import SFTConfig, SFTTrainer

LOG_NAME = "train_log.jsonl"
PLOT_NAME = "loss.png"


@dataclass(frozen=True)
class TrainResult:
    output: Path
    steps: int
    loss: float | None
    """The last logged training loss."""
    log: Path
    plot: Path | None
    data: DataStats
    config: TrainConfig
    main_process: bool = True
    """False on the other processes of a distributed run (which write nothing)."""


def base_model_spec(model: str) -> str:
    """How the saved output names its base: 'builtin', an absolute local path, or a hub id."""
    if model == BUILTIN_NAME:
        return model
    path = Path(model).expanduser()
    return str(path.resolve()) if path.exists() else model


def checkpoint_complete(checkpoint: Path) -> bool:
    """Whether the trainer finished writing `checkpoint`: trainer_state.json comes last,
    after the weights, optimizer, scheduler and RNG states, so a run killed while saving
    leaves a folder without it (or with it cut short)."""
    from transformers.trainer import TRAINER_STATE_NAME

    try:
        json.loads((checkpoint / TRAINER_STATE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return True


def complete_checkpoints(output: Path) -> list[Path]:
    """The checkpoint-N folders of `output` written to the end, oldest first."""
    from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

    prefix = f"{PREFIX_CHECKPOINT_DIR}-"
    steps = {
        int(p.name[len(prefix) :]): p
        for p in Path(output).glob(f"{prefix}*")
        if p.is_dir() and p.name[len(prefix) :].isdigit()
    }
    return [steps[step] for step in sorted(steps) if checkpoint_complete(steps[step])]


def last_checkpoint(output: Path, resume: bool) -> str | None:
    """The newest complete checkpoint-N folder in `output` to resume from (`resume`), or
    None for a fresh run; a folder cut off by a kill during its save is passed over."""
    from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

    found = [p for p in Path(output).glob(f"{PREFIX_CHECKPOINT_DIR}-*") if p.is_dir()]
    if found and not resume:
        raise DittoError(
            f"{output} already holds checkpoints: "
            "add --resume to continue, or pick another --output"
        )
    if not resume:
        return None
    if not found:
        raise DittoError(f"--resume: no checkpoint-* folder in {output}")
    complete = complete_checkpoints(output)
    if not complete:
        raise DittoError(
            f"--resume: no checkpoint in {output} was written to the end (each was cut off "
            "while being saved); delete them to start over"
        )
    return str(complete[-1])


def count_parameters(name: str) -> int:
    """The model's size without loading its weights (an empty copy on the meta device). A
    GGUF file's configuration is read from its header, not from its unpacked copy, so that a
    bad setting is refused before the weights are ever read."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    source, gguf_file = resolve_source(name)
    try:
        model_config = AutoConfig.from_pretrained(source, **({"gguf_file": gguf_file} if gguf_file else {}))
    except OSError as exc:
        first_line = (str(exc).strip().splitlines() or [repr(exc)])[0]
        raise DittoError(f"--model {name}: cannot load it ({first_line})") from None
    with torch.device("meta"):
        empty = AutoModelForCausalLM.from_config(model_config)
    return sum(p.numel() for p in empty.parameters())


def liger_installed() -> bool:
    """liger-kernel imports (it needs Triton, so it does only where Triton does)."""
    try:
        import liger_kernel.transformers  # noqa: F401
    except ImportError:
        return False
    return True


def _length(config: TrainConfig) -> str:
    """How long training runs, for the opening line: epochs, steps, or whichever comes first."""
    if config.max_steps <= 0:
        return f"{config.epochs:g} epochs"
    if config.epochs is None:
        return f"{config.max_steps} steps"
    return f"{config.epochs:g} epochs or {config.max_steps} steps, whichever comes first"


def world_size() -> int:
    """How many processes train, as torchrun, accelerate and DeepSpeed announce it
    (WORLD_SIZE). Read before the trainer's arguments exist, because a recipe's gradient
    accumulation, one of those arguments, depends on it; `train` checks it against them."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def trainer_arguments(config: TrainConfig, cuda: bool) -> SFTConfig:
    """TRL's `SFTConfig` for a resolved config: schedule, batch, length, precision, saving.
    With both epochs and a step limit, `max_steps` here is the limit; `train` lowers it to
    the epochs' steps once the data's size is known (`capped_steps`)."""
    from trl import SFTConfig

    # transformers 5 renamed gradient checkpointing; the old name still works, with a warning
    checkpointing = next(
        n
        for n in ("activation_checkpointing", "gradient_checkpointing")
        if n in SFTConfig.__dataclass_fields__
    )
    return SFTConfig(
        output_dir=str(config.output),
        num_train_epochs=config.epochs if config.epochs is not None else 1.0,  # unused when max_steps > 0
        max_steps=config.max_steps,
        learning_rate=config.lr,
        lr_scheduler_type="cosine_with_min_lr",
        lr_scheduler_kwargs={"min_lr_rate": config.min_lr_ratio},
        warmup_steps=config.warmup_ratio,  # a float below 1 is a fraction of all steps
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        max_length=config.max_length,
        packing=config.packing,
        packing_strategy="bfd",  # whole conversations per row, never cut in the middle
        padding_free=config.packing,
        bf16=config.bf16,
        **{checkpointing: config.gradient_checkpointing},
        use_liger_kernel=config.liger,
        logging_steps=config.logging_steps,
        save_steps=config.save_steps,
        save_total_limit=2,
        seed=config.seed,
        data_seed=config.seed,
        report_to="none",
        disable_tqdm=not config.progress,
        use_cpu=not cuda,
        **config.extra,
    )


def capped_steps(epochs: float, max_steps: int, updates_per_epoch: int) -> int:
    """Optimizer steps when both epochs and a step limit are set: whichever comes first
    (the paper's "5 epochs or 300 steps"). Known before training starts, so that the cosine
    reaches its floor exactly at the last step; the trainer alone would let `max_steps`
    override the epochs."""
    return min(max_steps, max(1, math.ceil(epochs * updates_per_epoch)))


def updates_per_epoch(trainer: SFTTrainer) -> int:
    """Optimizer steps in one pass over this process's share of the data, counted as the
    trainer counts them (micro-batches / accumulation, the last partial step included)."""
    micro_batches = len(trainer.get_train_dataloader())
    return max(1, math.ceil(micro_batches / trainer.args.gradient_accumulation_steps))


def train(config: TrainConfig) -> TrainResult:
    import torch
    from peft import LoraConfig
    from trl import SFTTrainer

    from ditto.train.inputs import training_inputs, write_started

    output = Path(config.output)
    checkpoint = last_checkpoint(output, config.resume)
    conversations = read_sft(config.data)  # a bad line fails here, before any model loads
    inputs = training_inputs(config)  # before `resolve`: what the caller asked for

    # 1. Defaults for this model size and machine, the recipe's first when one is named.
    cuda = torch.cuda.is_available()
    installed = (cuda or bool(config.liger)) and liger_installed()
    processes = world_size()
    config = resolve(config, count_parameters(config.model), cuda, liger_installed=installed, world_size=processes)
    full = config.method == "full"

    # 2. The trainer's arguments come before the model: under DeepSpeed ZeRO-3 they must
    #    exist while the weights load, so that each process loads only its shard.
    args = trainer_arguments(config, cuda)
    if config.recipe and args.world_size != processes:  # the recipe's batch was sized for `processes`
        raise DittoError(
            f"the trainer runs {args.world_size} processes but WORLD_SIZE says {processes}; "
            "launch with torchrun or accelerate launch, which set it"
        )
    print(
        f"ditto train: process {args.process_index} of {args.world_size} on {args.device}",
        file=sys.stderr,
        flush=True,
    )
    if args.process_index == 0:
        output.mkdir(parents=True, exist_ok=True)
        write_started(output, inputs)

    # 3. Model and tokenizer. Full fine-tuning keeps float32 master weights (bf16 autocast
    #    on GPU): at 2e-6 most updates are below what a bf16 weight can resolve. A LoRA
    #    base is frozen, so on GPU it is held in bf16 and only the adapter is float32.
    dtype = torch.bfloat16 if (config.bf16 and not full) else torch.float32
    attention = config.attn_implementation or varlen.pick_attention(
        cuda, padding_free=config.packing
    )
    if attention == varlen.NAME:
        varlen.register()
    model, tokenizer = load_pretrained(config.model, dtype, attention)
    if ensure_pad_token(tokenizer):
        model.resize_token_embeddings(len(tokenizer))
    model.generation_config.eos_token_id = sorted(end_of_turn_ids(tokenizer))

    # 4. Data: loss on the assistant's replies and their end-of-turn tokens only.
    dataset, stats = build_dataset(tokenizer, conversations, config.max_length)
    if args.process_index == 0:
        print(
            f"ditto train: {stats.kept} conversations, {stats.tokens:,} tokens "
            f"({stats.loss_tokens:,} with loss), {stats.truncated} cut at {config.max_length}; "
            f"{config.method}, lr {config.lr:g}, {_length(config)}, attention {attention}"
            f"{', Liger kernels' if config.liger else ''}",
            file=sys.stderr,
            flush=True,
        )

    # 5. Train.
    peft_config = None
    if not full:
        targets = list(config.lora_targets)
        peft_config = LoraConfig(
            r=config.lora_rank,
            lora_alpha=config.lora_alpha,
            lora_dropout=config.lora_dropout,
            target_modules="all-linear" if targets == ["all-linear"] else targets,
            task_type="CAUSAL_LM",
        )
    log = TrainLog(
        output / LOG_NAME,
        flops_per_token(model, full),
        peak_flops(torch.cuda.get_device_name()) if cuda else None,
        resume_step=int(Path(checkpoint).name.split("-")[-1]) if checkpoint else None,
    )
    with warnings.catch_warnings():
        # TRL 1.16 calls `use_liger_kernel` deprecated in favour of kernels fetched from the Hub
        # at run time; the installed package is what ditto uses.
        warnings.filterwarnings("ignore", "`use_liger_kernel=True` is deprecated", FutureWarning)
        trainer = SFTTrainer(
            model=model,
            args=args,
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=peft_config,
            callbacks=[log, EndIfAlreadyTrained()],
        )
    if config.epochs is not None and config.max_steps > 0:
        trainer.args.max_steps = capped_steps(config.epochs, config.max_steps, updates_per_epoch(trainer))
    try:
        trainer.train(resume_from_checkpoint=checkpoint)
    except AlreadyTrained:
        pass  # the model holds the final checkpoint's weights: save them below

    # 6. Save: adapter (or full model), tokenizer with its chat template, and the record.
    #    (The attention choice is not saved: config.json never records it.)
    trainer.save_model(str(output))
    steps = trainer.state.global_step
    losses = [r["loss"] for r in trainer.state.log_history if "loss" in r]
    plot = None
    if trainer.is_world_process_zero():
        record = {
            "base_model": base_model_spec(config.model),
            "method": config.method,
            "ditto_version": __version__,
            "world_size": args.world_size,
            "steps": steps,
            "final_loss": losses[-1] if losses else None,
            "attention": attention,
            "data": dataclasses.asdict(stats),
            "inputs": inputs,
            "config": {
                k: str(v) if isinstance(v, Path) else v
                for k, v in dataclasses.asdict(config).items()
            },
        }
        write_text_atomic(output / TRAIN_RECORD, json.dumps(record, indent=2, ensure_ascii=False) + "\n")
        plot = plot_loss(
            output / LOG_NAME,
            output / PLOT_NAME,
            title=f"ditto train: {config.model} ({config.method})",
        )
    trainer.accelerator.wait_for_everyone()
    last = losses[-1] if losses else None
    return TrainResult(
        output, steps, last, output / LOG_NAME, plot, stats, config, trainer.is_world_process_zero()
    )
