"""`ditto train merge`: fold a LoRA adapter into its base and write a plain model directory.

The adapter is loaded onto its base the way generation loads it (`load_pretrained`), so the
merged model is the model `ditto generate --model ADAPTER_DIR` runs. The result is what any
server loads without PEFT: safetensors weights, config.json, generation_config.json (stopping
at the end-of-turn tokens), the tokenizer and its chat template, so `vllm serve MERGED` and
`ditto generate --model MERGED` both work.
"""

from __future__ import annotations

import json
from pathlib import Path

from ditto.errors import DittoError
from ditto.models.huggingface import TRAIN_RECORD, adapter_base, end_of_turn_ids, load_pretrained

DTYPES = ("auto", "bfloat16", "float16", "float32")


def merge_adapter(adapter_dir: str | Path, output: str | Path, dtype: str = "auto") -> Path:
    """`dtype` 'auto' keeps the base model's own (float32 for a GGUF base, unpacked)."""
    import torch

    adapter_dir, output = Path(adapter_dir), Path(output)
    if not adapter_dir.is_dir():
        raise DittoError(f"{adapter_dir}: no such directory")
    base = adapter_base(str(adapter_dir))
    if base is None:
        raise DittoError(
            f"{adapter_dir}: no adapter_config.json; a full fine-tune is already a whole model"
        )
    if dtype not in DTYPES:
        raise DittoError(f"--dtype {dtype}: expected one of {', '.join(DTYPES)}")
    if output.exists() and any(output.iterdir()):
        raise DittoError(f"--output {output}: not empty")

    merged, tokenizer = load_pretrained(
        str(adapter_dir), "auto" if dtype == "auto" else getattr(torch, dtype)
    )
    merged.config.pad_token_id = tokenizer.pad_token_id
    merged.generation_config.pad_token_id = tokenizer.pad_token_id
    merged.generation_config.eos_token_id = end_of_turn_ids(tokenizer, merged.generation_config)

    output.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(output)
    tokenizer.save_pretrained(output)
    record_path = adapter_dir / TRAIN_RECORD
    record = (
        json.loads(record_path.read_text(encoding="utf-8"))
        if record_path.is_file()
        else {"base_model": base}
    )
    record["merged_from"] = str(adapter_dir.resolve())
    (output / TRAIN_RECORD).write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    return output
