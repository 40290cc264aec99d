"""The one Hugging Face loader, on the real embedded model (SmolLM2-135M-Instruct GGUF, CPU):
generation and training load the same weights, GGUF bookkeeping dropped; where a reply ends."""

import copy

import pytest

from ditto.errors import DittoError
from ditto.models.huggingface import (
    end_of_turn_ids,
    load_pretrained,
    merge_system_into_first_user,
    resolve_source,
)
from ditto.types import Message

PROMPT = [
    Message(role="system", content="You are Sherlock Holmes."),
    Message(role="user", content="Who are you?"),
]


@pytest.mark.slow
def test_a_gguf_loads_the_same_for_training_as_for_inference_and_as_read_directly(builtin_model, builtin_gguf):
    """`ditto train` (float32 on CPU, its attention) and generation get the same model, one
    that trains and saves (no GGUF quantizer left on it), whether named 'builtin' or by its
    path; and the unpacked folder in ditto's cache holds exactly what transformers reads
    from the GGUF file itself."""
    import torch
    from transformers import AutoModelForCausalLM, GgufConfig

    model, tokenizer = load_pretrained(str(builtin_gguf), torch.float32, attn_implementation="sdpa")
    direct = AutoModelForCausalLM.from_pretrained(
        str(builtin_gguf.parent), gguf_file=builtin_gguf.name, dtype=torch.float32,
        quantization_config=GgufConfig(dequantize=True),
    )
    for loaded in (model, builtin_model.model):
        assert getattr(loaded, "hf_quantizer", None) is None
        assert "quantization_config" not in loaded.config.to_dict()
        assert loaded.dtype == torch.float32
    assert tokenizer.get_vocab() == builtin_model.tokenizer.get_vocab()
    assert tokenizer.chat_template == builtin_model.tokenizer.chat_template
    prompt = torch.tensor([builtin_model.render(PROMPT)])
    with torch.no_grad():
        trained, generated, read = (m(prompt).logits for m in (model, builtin_model.model, direct))
    torch.testing.assert_close(trained, generated, rtol=0, atol=0)
    torch.testing.assert_close(trained, read, rtol=0, atol=0)


@pytest.mark.slow
def test_a_gguf_is_unpacked_once_into_the_cache_named_by_its_file(builtin_model, builtin_gguf, monkeypatch):
    """The folder is named by the file's name, size and time (a changed file gets its own);
    once made, it is reused without reading the GGUF file again."""
    from ditto.models import huggingface

    fingerprint = huggingface.local_fingerprint(str(builtin_gguf.parent), builtin_gguf.name)
    expected = huggingface.cache_root() / "gguf" / f"{builtin_gguf.stem}-{fingerprint}"
    assert (expected / "model.safetensors").is_file()  # made when the builtin model was loaded
    assert not list(expected.parent.glob("*.partial-*"))
    monkeypatch.setattr("transformers.AutoModelForCausalLM.from_pretrained",
                        lambda *a, **k: pytest.fail("the GGUF file was read again"))
    assert huggingface.unpacked_gguf(str(builtin_gguf.parent), builtin_gguf.name) == expected
    assert huggingface.loadable_source("builtin") == str(expected)


@pytest.mark.slow
def test_end_of_turn_ids_of_the_builtin_tokenizer(builtin_model):
    tokenizer = builtin_model.tokenizer
    assert tokenizer.convert_ids_to_tokens(end_of_turn_ids(tokenizer)) == ["<|im_end|>"]
    generation_config = copy.deepcopy(builtin_model.model.generation_config)
    assert end_of_turn_ids(tokenizer, generation_config) == [2]
    generation_config.eos_token_id = [2, 0]  # a model may name several (Llama-3 does)
    assert end_of_turn_ids(tokenizer, generation_config) == [0, 2]
    # generation stops where training taught the model to stop
    assert builtin_model.eos_token_ids == end_of_turn_ids(tokenizer) == [2]


@pytest.mark.slow
def test_a_model_directory_without_weights_is_one_error_line(builtin_model, tmp_path):
    builtin_model.tokenizer.save_pretrained(tmp_path)
    builtin_model.model.config.save_pretrained(tmp_path)
    one_line = r"^--model \S+: cannot load it \(.*model\.safetensors.*\)$"
    with pytest.raises(DittoError, match=one_line):
        load_pretrained(str(tmp_path))


def test_missing_model_paths_are_clear_errors(tmp_path):
    with pytest.raises(DittoError, match="no such GGUF file"):
        resolve_source(str(tmp_path / "missing.gguf"))
    with pytest.raises(DittoError, match="no such model directory"):
        resolve_source(str(tmp_path / "missing-dir"))


def test_merge_system_into_first_user():
    merged = merge_system_into_first_user(
        [Message(role="system", content="Be brief."), Message(role="user", content="Hello")]
    )
    assert merged == [Message(role="user", content="Be brief.\n\nHello")]
