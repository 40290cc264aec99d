"""Trainer callbacks: DIR/train_log.jsonl, one line per logged step with loss, learning rate,
tokens/s and MFU; and `EndIfAlreadyTrained`, for a run resumed with no step left.

Tokens are those the trainer actually ran (TRL's `num_tokens`, summed over all processes;
padding excluded), so tokens/s compares fairly between padded and packed batches.

MFU (model FLOPs utilisation) = FLOPs per token x tokens/s / (peak x processes). FLOPs per
token count the matrix products of the model's weights (embedding lookups excluded, a
tied LM head counted once): 6 per weight for full fine-tuning (forward, backward through
activations, weight gradients), 4 for LoRA, whose frozen weights need no gradients.
Recomputation for gradient checkpointing is not counted, as usual for MFU. The peak is the
dense bf16 rate from the vendor's datasheet; on an unknown GPU or the CPU no MFU is logged.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from transformers import TrainerCallback

from ditto.chat_files import write_jsonl_atomic

PEAK_BF16_FLOPS = {  # dense, no sparsity; first match on the device name wins
    "GH200": 989e12,
    "H100": 989e12,
    "H200": 989e12,
    "H800": 989e12,
    "B200": 2250e12,
    "A100": 312e12,
    "A800": 312e12,
    "L40S": 362e12,
}


def peak_flops(device_name: str) -> float | None:
    for key, peak in PEAK_BF16_FLOPS.items():
        if key in device_name:
            return peak
    return None


def matmul_params(model) -> int:
    """Weights that enter a matrix product per token (see the module docstring)."""
    if hasattr(model, "get_base_model"):
        model = model.get_base_model()
    total = sum(p.numel() for p in model.parameters())  # parameters() yields a tied weight once
    embeddings = model.get_input_embeddings().weight
    head = model.get_output_embeddings()
    tied = head is not None and head.weight is embeddings
    lora = sum(p.numel() for name, p in model.named_parameters() if "lora_" in name)
    return total - lora - (0 if tied else embeddings.numel())


def flops_per_token(model, full: bool) -> float:
    return (6 if full else 4) * matmul_params(model)


def read_log(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class TrainLog(TrainerCallback):
    def __init__(
        self, path: Path, flops_per_token: float, peak: float | None, resume_step: int | None = None
    ):
        """`resume_step`: the checkpoint a resumed run starts from; later lines of the
        interrupted run are dropped so that each step is logged once."""
        self.path = Path(path)
        self.flops_per_token = flops_per_token
        self.peak = peak
        self.resume_step = resume_step
        self.records: list[dict] = []

    def on_train_begin(self, args, state, control, **kwargs):
        self._time = time.perf_counter()
        self._tokens = 0
        # TRL counts tokens from zero in every process; the log counts the whole run, so a
        # resumed run adds those logged at its checkpoint (ditto logs every step).
        self._tokens_before = 0
        if state.is_world_process_zero:
            kept = [
                r for r in read_log(self.path) if self.resume_step and r["step"] <= self.resume_step
            ]
            if kept:
                self._tokens_before = kept[-1]["tokens"]
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Replaced whole, so that a kill now cannot lose the lines kept.
            write_jsonl_atomic(self.path, kept)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs or "loss" not in logs:
            return
        now, tokens = time.perf_counter(), int(logs.get("num_tokens", 0))
        rate = (tokens - self._tokens) / max(now - self._time, 1e-9)
        self._time, self._tokens = now, tokens
        record = {
            "step": state.global_step,
            "epoch": round(state.epoch or 0.0, 4),
            "loss": logs["loss"],
            "lr": logs.get("learning_rate"),
            "grad_norm": logs.get("grad_norm"),
            "tokens": self._tokens_before + tokens,
            "tokens_per_s": round(rate, 1),
        }
        if self.peak:
            record["mfu"] = round(self.flops_per_token * rate / (self.peak * args.world_size), 4)
        self.records.append(record)
        with self.path.open("a") as handle:
            handle.write(json.dumps(record) + "\n")


class AlreadyTrained(Exception):
    """Raised by `EndIfAlreadyTrained`: a resumed run had no step left to take."""


class EndIfAlreadyTrained(TrainerCallback):
    """Ends a run resumed from a checkpoint taken at its last step before it starts.

    transformers checks whether training should stop only after a step, so a run resumed
    from its final checkpoint (killed between that checkpoint and the final save) in the
    middle of an epoch takes one step too many. When training begins the trainer has
    already loaded the checkpoint's weights; `train` catches the exception and saves them."""

    def on_train_begin(self, args, state, control, **kwargs):
        if state.max_steps and state.global_step >= state.max_steps:
            raise AlreadyTrained
