"""Stage 3 of Ditto: supervised fine-tuning of the seed model on its own simulated dialogues.

`train` and `TrainResult` load on first use (they pull in torch, transformers and TRL), so
that reading `TrainConfig`, as the command line does for `--help`, stays instant."""

from ditto.train.config import TrainConfig

__all__ = ["TrainConfig", "TrainResult", "train"]


def __getattr__(name: str):
    if name in ("train", "TrainResult"):
        from ditto.train import trainer

        return getattr(trainer, name)
    raise AttributeError(f"module 'ditto.train' has no attribute {name!r}")
