"""Local generation throughput: ditto's transformers backend against a plain `model.generate` loop.

One Qwen2.5-1.5B-shaped model (random weights in bf16: speed does not depend on them) and
REQUESTS single-turn requests of PROMPT random tokens each, the same for every setup. Every
reply is exactly NEW tokens long: the end-of-turn token's embedding row (tied to its output
row) is zeroed, so its logit is 0, far below the largest of 150k random logits, and greedy
decoding never picks it. New tokens/s = new tokens returned / wall seconds over all requests,
after one warm-up batch whose time is reported apart (for ditto it holds the compiling and
the recording of the CUDA graphs, paid once per process and shape).

- plain: `model.generate` on batches of BATCH token-id rows (dynamic cache, transformers'
  sdpa), the loop one writes first.
- ditto: `TransformersModel.generate` on the same requests as chat messages (a word-level
  tokenizer built here maps each token to one word, so the chat template renders exactly the
  same PROMPT tokens); on CUDA that is the static-cache, compiled, bucketed path.
- ditto-sdpa: the same, but decoding through transformers' own sdpa attention instead of
  ditto's `decode_attention` (what the grouped key/value heads read costs).
- roofline: decode steps at the H200's memory bandwidth (4.8 TB/s): every step reads the bf16
  weights once and the KV cache of every row at the mean context PROMPT + NEW / 2.
- bound: the prefill at the dense bf16 peak (989 TFLOP/s) plus NEW - 1 such decode steps.

    PYTHONPATH=src python benchmarks/gpu_generation.py --out /tmp/gpu_generation.json
    PYTHONPATH=src python benchmarks/gpu_generation.py --device cpu --tiny --out /tmp/tiny.json

`--tiny` shrinks the model (two small layers), the requests and the lengths, to try the
script on a CPU in seconds; there ditto takes the static-cache path too, without compiling.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

HBM_BYTES_PER_S = 4.8e12  # H200 SXM datasheet
PEAK_BF16_FLOPS = 989e12  # H100/H200 SXM dense bf16
QWEN25_15B = dict(  # Qwen/Qwen2.5-1.5B-Instruct config.json
    hidden_size=1536,
    intermediate_size=8960,
    num_hidden_layers=28,
    num_attention_heads=12,
    num_key_value_heads=2,
    vocab_size=151936,
    max_position_embeddings=32768,
    rope_theta=1e6,
    rms_norm_eps=1e-6,
    tie_word_embeddings=True,
)
TINY = dict(
    QWEN25_15B,
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    vocab_size=4096,
)
END = "<|im_end|>"
SETUPS = ("plain", "ditto", "ditto-sdpa")


def build(device: str, tiny: bool):
    """The model and a word-level tokenizer over its vocabulary: token i is the word `w{i}`,
    the last id is the end-of-turn token, and the chat template is the message text."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(**(TINY if tiny else QWEN25_15B), attn_implementation="sdpa")
    vocab = {f"w{i}": i for i in range(config.vocab_size - 1)} | {END: config.vocab_size - 1}
    words = Tokenizer(models.WordLevel(vocab, unk_token="w0"))
    words.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=words, eos_token=END, pad_token=END)
    tokenizer.chat_template = "{% for m in messages %}{{ m['content'] }}{% endfor %}"
    config.eos_token_id = config.pad_token_id = tokenizer.eos_token_id
    torch.manual_seed(0)
    with torch.device(device):
        model = Qwen2ForCausalLM(config)
    model = model.to(torch.bfloat16 if device.startswith("cuda") else torch.float32).eval()
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model, tokenizer


def never_end(model, token_ids: list[int]) -> None:
    """Zero the rows of the end-of-turn tokens: replies then run to max_tokens."""
    import torch

    with torch.no_grad():
        model.get_input_embeddings().weight[token_ids] = 0
        model.get_output_embeddings().weight[token_ids] = 0


def run_plain(model, prompts, batch, new_tokens, eos_ids, pad_id) -> list[list[int]]:
    import torch

    replies = []
    for start in range(0, len(prompts), batch):
        ids = torch.tensor(prompts[start : start + batch], device=model.device)
        with torch.inference_mode():
            out = model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=new_tokens,
                do_sample=False,
                temperature=None,
                top_p=None,
                top_k=None,
                eos_token_id=eos_ids,
                pad_token_id=pad_id,
            )
        replies += out[:, ids.shape[1] :].tolist()
    return [r[: next((i + 1 for i, t in enumerate(r) if t in eos_ids), len(r))] for r in replies]


def run_ditto(ditto, requests) -> list[list[int]]:
    results = dict(ditto.generate(requests))
    return [ditto.tokenizer(results[i].text)["input_ids"] for i in range(len(requests))]


def timed(label: str, fn, warmup_args, args, device: str) -> tuple[float, float, list]:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    fn(*warmup_args)
    warmup = time.perf_counter() - started
    started = time.perf_counter()
    replies = fn(*args)
    seconds = time.perf_counter() - started
    print(f"{label}: warm-up {warmup:.1f} s, {seconds:.2f} s", file=sys.stderr)
    return warmup, seconds, replies


def roofline(model, batch: int, prompt: int, new: int) -> dict:
    """Upper bounds from the H200's datasheet bandwidth and bf16 peak (see the docstring)."""
    config = model.config
    params = sum(p.numel() for p in model.parameters())  # tied embeddings counted once
    embedding = model.get_input_embeddings().weight.numel()
    width = next(model.parameters()).element_size()  # 2 bytes in bf16
    head_dim = config.hidden_size // config.num_attention_heads
    kv_per_token = config.num_hidden_layers * 2 * config.num_key_value_heads * head_dim * width
    step_bytes = params * width + batch * (prompt + new / 2) * kv_per_token
    step_s = step_bytes / HBM_BYTES_PER_S
    attention_flops = 2 * config.num_hidden_layers * config.hidden_size * batch * prompt**2
    prefill_flops = 2 * (params - embedding) * batch * prompt + attention_flops
    prefill_flops += 2 * embedding * batch  # the output layer, for the last position only
    prefill_s = prefill_flops / PEAK_BF16_FLOPS
    return {
        "params": params,
        "kv_bytes_per_token": kv_per_token,
        "decode_step_bytes": round(step_bytes),
        "decode_tokens_per_s": batch / step_s,
        "prefill_s_per_batch": prefill_s,
        "bound_tokens_per_s": batch * new / (prefill_s + (new - 1) * step_s),
    }


def table(summary: dict) -> None:
    results, bounds = summary["results"], summary["roofline"]
    plain = next((r["tokens_per_s"] for r in results if r["setup"] == "plain"), None)

    def ratio(rate: float) -> str:
        return f"{rate / plain:.2f}x" if plain else "-"

    batch, prompt, new = summary["batch"], summary["prompt_tokens"], summary["max_new_tokens"]
    print(f"{summary['device']}, torch {summary['torch']}, transformers {summary['transformers']}")
    print(f"{summary['requests']} requests of {prompt} tokens, {new} new tokens each\n")
    print("| setup | what runs | batch | warm-up s | s | new tokens/s | vs plain | peak GiB |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['setup']} | {r['what']} | {batch} | {r['warmup_s']} | {r['seconds']} | "
            f"{r['tokens_per_s']:,.0f} | {ratio(r['tokens_per_s'])} | {r['peak_memory_gib'] or '-'} |"
        )
    print(
        f"| roofline | decode steps at 4.8 TB/s: weights + KV at mean context {prompt + new / 2:g} "
        f"| {batch} | - | - | {bounds['decode_tokens_per_s']:,.0f} "
        f"| {ratio(bounds['decode_tokens_per_s'])} | - |"
    )
    print(
        f"| bound | prefill at 989 TFLOP/s + {new - 1} decode steps at 4.8 TB/s | {batch} | - | - "
        f"| {bounds['bound_tokens_per_s']:,.0f} | {ratio(bounds['bound_tokens_per_s'])} | - |"
    )
    for r in results:
        if "same_reply_as_plain" in r:
            print(
                f"\n{r['setup']}: replies identical to plain's {r['same_reply_as_plain']:.0%}, "
                f"first token {r['same_first_token_as_plain']:.0%}; every reply {new} tokens: "
                f"{r['all_full_length']}; dynamo graphs {r['dynamo_graphs']}, "
                f"cudagraph skips {r['cudagraph_skips']}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="where the JSON results go")
    parser.add_argument("--device", default=None, help="cuda (default when available) or cpu")
    parser.add_argument("--tiny", action="store_true", help="a two-layer model, to try on a CPU")
    parser.add_argument("--requests", type=int, help="default 1024 (tiny: 16)")
    parser.add_argument("--batch-size", type=int, help="default 256 (tiny: 8)")
    parser.add_argument("--prompt-tokens", type=int, help="default 256 (tiny: 40)")
    parser.add_argument("--new-tokens", type=int, help="default 128 (tiny: 8)")
    parser.add_argument("--setups", default=",".join(SETUPS), help="comma-separated")
    args = parser.parse_args()

    import torch
    import transformers
    from torch._dynamo.utils import counters

    from ditto.models.transformers_backend import TransformersModel
    from ditto.types import ChatRequest, Message, SamplingParams

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    cuda = device.startswith("cuda")
    requests_n = args.requests or (16 if args.tiny else 1024)
    batch = args.batch_size or (8 if args.tiny else 256)
    prompt_len = args.prompt_tokens or (40 if args.tiny else 256)
    new = args.new_tokens or (8 if args.tiny else 128)

    model, tokenizer = build(device, args.tiny)
    rng = random.Random(0)
    prompts = [
        [rng.randrange(model.config.vocab_size - 1) for _ in range(prompt_len)]
        for _ in range(requests_n)
    ]
    params = SamplingParams(max_tokens=new, temperature=0)
    requests = [
        ChatRequest(
            messages=(Message(role="user", content=" ".join(f"w{t}" for t in p)),), params=params
        )
        for p in prompts
    ]
    name = "qwen2.5-1.5b-shaped"
    probe = TransformersModel(name, model=model, tokenizer=tokenizer, batch_size=batch)
    eos_ids = probe.eos_token_ids
    never_end(model, eos_ids)
    assert probe.render(requests[0].messages) == prompts[0], "the chat template adds tokens"

    summary = {
        "device": torch.cuda.get_device_name() if cuda else "cpu",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "model": "tiny" if args.tiny else "Qwen2.5-1.5B-shaped, random weights, bf16",
        "requests": requests_n,
        "batch": batch,
        "prompt_tokens": prompt_len,
        "max_new_tokens": new,
        "results": [],
        "roofline": roofline(model, batch, prompt_len, new),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    replies = {}
    for setup in args.setups.split(","):
        torch._dynamo.reset()
        counters.clear()
        if setup == "plain":
            model.set_attn_implementation("sdpa")
            run = (model, prompts, batch, new, eos_ids, tokenizer.pad_token_id)
            warmup, seconds, out = timed(
                setup, run_plain, (model, prompts[:batch], *run[2:]), run, device
            )
            what = f"`model.generate` loop, batches of {batch}, dynamic cache, sdpa"
        else:
            # ditto's default on CUDA; forced on CPU so that the smoke run takes the same path
            ditto = TransformersModel(
                name, model=model, tokenizer=tokenizer, batch_size=batch, static_cache=True
            )
            if setup == "ditto-sdpa":
                model.set_attn_implementation("sdpa")
            warmup, seconds, out = timed(
                setup, run_ditto, (ditto, requests[:batch]), (ditto, requests), device
            )
            compiled = "compiled decode (CUDA graphs)" if cuda else "eager"
            attention = model.config._attn_implementation
            what = f"`TransformersModel.generate`: static cache, {compiled}, {attention}"
        replies[setup] = out
        result = {
            "setup": setup,
            "what": what,
            "new_tokens": sum(len(r) for r in out),
            "all_full_length": all(len(r) == new for r in out),
            "warmup_s": round(warmup, 2),
            "seconds": round(seconds, 3),
            "tokens_per_s": sum(len(r) for r in out) / seconds,
            "peak_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 1)
            if cuda
            else None,
            "dynamo_graphs": counters["stats"].get("unique_graphs", 0),
            "cudagraph_skips": counters["inductor"].get("cudagraph_skips", 0),
        }
        if setup != "plain" and "plain" in replies:
            pairs = list(zip(replies["plain"], out))
            result["same_first_token_as_plain"] = sum(a[:1] == b[:1] for a, b in pairs) / len(pairs)
            result["same_reply_as_plain"] = sum(a == b for a, b in pairs) / len(pairs)
        summary["results"].append(result)
        args.out.write_text(json.dumps(summary, indent=2))  # after each setup: kept if killed
    table(summary)


if __name__ == "__main__":
    main()
