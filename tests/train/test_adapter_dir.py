"""How `ditto generate --model DIR` recognises a trained adapter and finds its base."""

import json

import pytest

from ditto.errors import DittoError
from ditto.models.huggingface import adapter_base


def test_a_model_folder_without_adapter_is_no_adapter(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    assert adapter_base(str(tmp_path)) is None


def test_ditto_record_names_the_base_even_when_peft_does_not(tmp_path):
    (tmp_path / "adapter_config.json").write_text(
        json.dumps({"base_model_name_or_path": "/site-packages/x"})
    )
    (tmp_path / "ditto_train.json").write_text(json.dumps({"base_model": "builtin"}))
    assert adapter_base(str(tmp_path)) == "builtin"


def test_an_adapter_trained_elsewhere_uses_peft_own_record(tmp_path):
    (tmp_path / "adapter_config.json").write_text(
        json.dumps({"base_model_name_or_path": "Qwen/Qwen2.5-7B"})
    )
    assert adapter_base(str(tmp_path)) == "Qwen/Qwen2.5-7B"
    (tmp_path / "adapter_config.json").write_text("{}")
    with pytest.raises(DittoError, match="does not name its base model"):
        adapter_base(str(tmp_path))


def test_merge_refuses_what_is_not_an_adapter(tmp_path):
    from ditto.train.merge_adapter import merge_adapter

    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "config.json").write_text("{}")
    with pytest.raises(DittoError, match="no adapter_config.json"):
        merge_adapter(tmp_path / "full", tmp_path / "merged")
    with pytest.raises(DittoError, match="no such directory"):
        merge_adapter(tmp_path / "missing", tmp_path / "merged")
