"""Hugging Face models and tokenizers, loaded one way for generation, training and merging.

`--model` names a hub id, a local model directory, a `.gguf` file or 'builtin' (the
embedded GGUF). `load_pretrained` turns any of them into (model, tokenizer), the same way for
`ditto generate` (and every command that generates), `ditto train` and `ditto train merge`:

- a GGUF file is unpacked into plain float32 tensors, and transformers' quantizer
  bookkeeping, which would refuse training and saving, is dropped: the model then generates,
  trains, merges and saves like any Hugging Face model, and one file gives the same logits
  whichever command loaded it. Unpacking is done once per file (`unpacked_gguf`): the
  result is saved as a plain model folder in ditto's cache, because reading a GGUF file's
  metadata (its whole vocabulary, string by string) costs seconds at every load;
- a directory holding a PEFT adapter (what `ditto train` saves) loads its base, named in the
  directory, then the adapter merged in (no per-token LoRA cost); the tokenizer, with the pad
  token and chat template that training gave it, is the adapter's own.

`end_of_turn_ids` is the one rule for where a reply ends: where generation stops, what
training never pads with, and what a merged model's generation config records.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from ditto.errors import DittoError
from ditto.models.builtin import BUILTIN_NAME, builtin_gguf_path
from ditto.types import Message

# End-of-turn markers of common chat templates; a reply ends at any that the vocabulary has.
END_OF_TURN_TOKENS = ("<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>", "</s>")

ADAPTER_CONFIG = "adapter_config.json"
TRAIN_RECORD = "ditto_train.json"
"""Written by `ditto train` beside the weights; its `base_model` is how an adapter finds its
base offline ('builtin', an absolute path or a hub id)."""


def resolve_source(name: str) -> tuple[str, str | None]:
    """Where to load from: (directory or hub id, GGUF file name inside it or None)."""
    if name == BUILTIN_NAME:
        path = builtin_gguf_path()
        return str(path.parent), path.name
    path = Path(name).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise DittoError(f"--model {name}: no such GGUF file")
        return str(path.parent), path.name
    if path.exists():
        return str(path), None
    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise DittoError(f"--model {name}: no such model directory")
    return name, None


def adapter_base(source: str) -> str | None:
    """The base model of a directory holding a PEFT adapter, else None."""
    directory = Path(source)
    if not (directory / ADAPTER_CONFIG).is_file():
        return None
    record = directory / TRAIN_RECORD
    if record.is_file():
        base = json.loads(record.read_text(encoding="utf-8")).get("base_model")
    else:  # an adapter trained elsewhere: PEFT records its base itself
        peft_config = json.loads((directory / ADAPTER_CONFIG).read_text(encoding="utf-8"))
        base = peft_config.get("base_model_name_or_path")
    if not base:
        raise DittoError(f"--model {source}: an adapter that does not name its base model")
    return base


def local_fingerprint(source: str, gguf_file: str | None) -> str:
    """Size and modification time of a local model's files, so that a model directory
    rewritten by training does not reuse the old model's cached outputs."""
    root = Path(source)
    if not root.exists():
        return ""
    files = [root / gguf_file] if gguf_file else sorted(p for p in root.iterdir() if p.is_file())
    digest = hashlib.sha256()
    for file in files:
        stat = file.stat()
        digest.update(f"{file.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:12]


def merge_system_into_first_user(messages: Sequence[Message]) -> list[Message]:
    """For chat templates without a system role: the system text opens the first user turn."""
    if not messages or messages[0].role != "system":
        return list(messages)
    system, rest = messages[0], list(messages[1:])
    if rest and rest[0].role == "user":
        rest[0] = Message(role="user", content=f"{system.content}\n\n{rest[0].content}")
        return rest
    return [Message(role="user", content=system.content), *rest]


def end_of_turn_ids(tokenizer, generation_config=None) -> list[int]:
    """Token ids that end a reply: the tokenizer's end-of-sequence token, the end-of-turn
    markers of `END_OF_TURN_TOKENS` that its vocabulary has, and the end-of-sequence ids a
    model's `generation_config` names (Llama-3 lists several)."""
    vocab = tokenizer.get_vocab()
    ids = {vocab[token] for token in END_OF_TURN_TOKENS if token in vocab}
    ids.add(tokenizer.eos_token_id)
    if generation_config is not None:
        configured = generation_config.eos_token_id
        ids.update(configured if isinstance(configured, list) else [configured])
    return sorted(i for i in ids if i is not None)


def cache_root() -> Path:
    """ditto's cache folder: $DITTO_CACHE, else $XDG_CACHE_HOME/ditto, else ~/.cache/ditto."""
    if os.environ.get("DITTO_CACHE"):
        return Path(os.environ["DITTO_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ditto"


def unpacked_gguf(directory: str, gguf_file: str) -> Path:
    """The GGUF file unpacked into a plain model folder (float32 safetensors, config,
    tokenizer) in ditto's cache, made on first use. The folder is named by the file's name,
    size and time, so a changed file is unpacked again; it is written under a temporary
    name and renamed, so a killed unpacking never leaves a half folder behind."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    target = cache_root() / "gguf" / f"{Path(gguf_file).stem}-{local_fingerprint(directory, gguf_file)}"
    if (target / "config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    model = AutoModelForCausalLM.from_pretrained(
        directory, gguf_file=gguf_file, dtype=torch.float32, quantization_config=GgufConfig(dequantize=True)
    )
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None:
        quantizer.remove_quantization_config(model)
    model.save_pretrained(partial)
    AutoTokenizer.from_pretrained(directory, gguf_file=gguf_file).save_pretrained(partial)
    try:
        partial.rename(target)
    except OSError:  # another process unpacked it first
        shutil.rmtree(partial, ignore_errors=True)
    return target


def loadable_source(name: str) -> str:
    """Where transformers loads `--model name` from: a hub id or a model folder, a GGUF
    file's unpacked folder in its place."""
    source, gguf_file = resolve_source(name)
    return str(unpacked_gguf(source, gguf_file)) if gguf_file else source


def load_pretrained(name: str, dtype="auto", attn_implementation: str | None = None):
    """(model, tokenizer) of `--model name`, on the CPU (the caller moves the model where it
    runs). `dtype` is a torch dtype or 'auto' (the checkpoint's own; float32 for a GGUF file,
    whose blocks are unpacked). A file that cannot be read or fetched is one DittoError line."""
    from transformers import AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    try:
        source = loadable_source(name)
        base = adapter_base(source)
        tokenizer = AutoTokenizer.from_pretrained(source)
        if base is None:
            model = load_weights(source, dtype, attn_implementation)
        else:
            model = load_weights(loadable_source(base), dtype, attn_implementation)
            model = merge_adapter_into(model, tokenizer, source)
    except OSError as exc:
        first_line = (str(exc).strip().splitlines() or [repr(exc)])[0]
        raise DittoError(f"--model {name}: cannot load it ({first_line})") from None
    return model, tokenizer


def load_weights(source: str, dtype, attn_implementation: str | None):
    """The causal LM of a model folder or hub id."""
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(source, dtype=dtype, attn_implementation=attn_implementation)


def merge_adapter_into(model, tokenizer, adapter_dir: str):
    """`model` (the base) with the adapter of `adapter_dir` folded into its weights."""
    from peft import PeftModel

    if model.get_input_embeddings().num_embeddings < len(tokenizer):
        model.resize_token_embeddings(len(tokenizer))  # training added a pad token
    return PeftModel.from_pretrained(model, adapter_dir).merge_and_unload()
