"""End to end on the builtin model (SmolLM2-135M-Instruct GGUF, CPU): LoRA training makes
the loss fall, the adapter loads and changes what the model says, the merged model is the
same model, and `ditto chat` streams from it."""

import json

import pytest
import torch

from ditto.models.huggingface import end_of_turn_ids
from ditto.models.transformers_backend import TransformersModel
from ditto.train import TrainConfig, train
from ditto.train.merge_adapter import merge_adapter
from ditto.types import ChatRequest, Message, SamplingParams

pytestmark = pytest.mark.slow

SYSTEM = "You are Sherlock Holmes, fictional detective created by Arthur Conan Doyle."
QUESTIONS = ["Where do you live?", "What do you do when you have no case?"]


@pytest.fixture(scope="module")
def trained(sft_file, tmp_path_factory):
    """Three full-batch steps (all six conversations each step, so every logged loss is
    measured on the same data) at a learning rate high enough to move in three steps."""
    import torch

    torch.set_num_threads(1)
    output = tmp_path_factory.mktemp("builtin-lora")
    config = TrainConfig(
        model="builtin",
        data=sft_file,
        output=output,
        max_steps=3,
        batch_size=6,
        max_length=128,
        lr=2e-3,
        warmup_ratio=0.0,
        progress=False,
    )
    return train(config)


@pytest.fixture(scope="module")
def adapted(trained):
    """The trained adapter as `ditto generate --model DIR` loads it."""
    model = TransformersModel(str(trained.output))
    model.load()
    yield model
    model.close()


def greedy(model: TransformersModel) -> list[str]:
    requests = [
        ChatRequest(
            messages=(Message(role="system", content=SYSTEM), Message(role="user", content=q)),
            params=SamplingParams(max_tokens=24, temperature=0),
        )
        for q in QUESTIONS
    ]
    results = dict(model.generate(requests))
    return [results[i].text for i in range(len(requests))]


def test_loss_falls_and_the_log_says_so(trained):
    log = [json.loads(line) for line in trained.log.read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3]
    losses = [r["loss"] for r in log]
    assert losses[-1] < 0.8 * losses[0], losses
    assert all(r["tokens_per_s"] > 0 and r["lr"] is not None for r in log)
    assert "mfu" not in log[0]  # no peak to compare with on a CPU
    assert log[-1]["tokens"] == 3 * trained.data.tokens
    assert trained.plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_adapter_tokenizer_and_template_are_saved_together(trained):
    out = trained.output
    for name in (
        "adapter_config.json",
        "adapter_model.safetensors",
        "tokenizer.json",
        "chat_template.jinja",
    ):
        assert (out / name).is_file(), name
    record = json.loads((out / "ditto_train.json").read_text())
    assert record["base_model"] == "builtin" and record["method"] == "lora" and record["steps"] == 3
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(out)
    assert tokenizer.pad_token == "<|endoftext|>"
    assert tokenizer.pad_token_id not in end_of_turn_ids(tokenizer)


def test_adapter_loads_and_changes_the_generations(adapted, builtin_model):
    assert greedy(adapted) != greedy(builtin_model)


def test_merged_model_is_the_adapted_model_and_chat_streams_from_it(
    trained, adapted, tmp_path, characters_file, monkeypatch
):
    merged = merge_adapter(trained.output, tmp_path / "merged")
    config = json.loads((merged / "config.json").read_text())
    assert "quantization_config" not in config and config["architectures"] == ["LlamaForCausalLM"]
    generation = json.loads((merged / "generation_config.json").read_text())
    assert generation["eos_token_id"] == [2]  # <|im_end|>: replies stop at the end of the turn

    whole = TransformersModel(str(merged))
    whole.load()
    prompt = torch.tensor(
        [
            adapted.render(
                [Message(role="system", content=SYSTEM), Message(role="user", content=QUESTIONS[0])]
            )
        ]
    )
    with torch.no_grad():
        torch.testing.assert_close(
            whole.model(prompt).logits, adapted.model(prompt).logits, rtol=1e-4, atol=1e-4
        )
    assert greedy(whole) == greedy(adapted)

    # `ditto chat --model MERGED`, in process, with the merged model already loaded above
    # (the command's own `load_model` builds exactly this TransformersModel)
    from typer.testing import CliRunner

    import ditto.models
    from ditto.cli import app

    loaded = []
    monkeypatch.setattr(ditto.models, "load_model", lambda name, base_url=None: loaded.append(name) or whole)
    chat = CliRunner().invoke(app, ["chat", "--model", str(merged), "--character", "Sherlock Holmes",
                                    "--characters", str(characters_file), "--max-tokens", "24",
                                    "--temperature", "0", "--run", str(tmp_path / "chat")],
                              input=f"{QUESTIONS[0]}\n")
    assert chat.exit_code == 0, chat.output
    assert loaded == [str(merged)]
    name, _, reply = chat.stdout.partition("> ")
    assert name == "Sherlock Holmes" and reply.strip() == greedy(whole)[0]
