"""`train_unless_done`: a model is trained once per set of inputs (data, base model,
settings), resumed from its checkpoint when a run of the same inputs was cut short, and
trained again when the inputs change. On a tiny random model."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import pytest

from ditto.models.huggingface import TRAIN_RECORD
from ditto.train.callbacks import read_log
from ditto.train.inputs import INPUTS_FILE, train_unless_done, training_inputs
from tests.train.test_cli_train import tiny_config

pytestmark = pytest.mark.slow


def test_what_changes_the_weights_changes_the_inputs(tiny_model_dir, sft_file, tmp_path):
    config = tiny_config(tiny_model_dir, sft_file, tmp_path / "a", max_steps=2)
    inputs = training_inputs(config)
    assert training_inputs(replace(config, output=tmp_path / "b", progress=True, save_steps=7)) == inputs
    assert training_inputs(replace(config, lr=2e-3)) != inputs
    assert training_inputs(replace(config, seed=1)) != inputs
    edited = tmp_path / "sft.jsonl"
    edited.write_text(sft_file.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert training_inputs(replace(config, data=edited)) != inputs  # the data's content, not its name
    same = tmp_path / "same.jsonl"
    shutil.copy(sft_file, same)
    assert training_inputs(replace(config, data=same)) == inputs


def test_trained_once_resumed_after_a_cut_and_retrained_on_new_inputs(tiny_model_dir, sft_file, tmp_path):
    out = tmp_path / "model"
    config = tiny_config(tiny_model_dir, sft_file, out, max_steps=2, save_steps=1)
    assert train_unless_done(config) is True
    record = json.loads((out / TRAIN_RECORD).read_text())
    assert record["inputs"] == training_inputs(config) == json.loads((out / INPUTS_FILE).read_text())
    weights = (out / "adapter_model.safetensors").read_bytes()

    assert train_unless_done(config) is False  # the same inputs: nothing to do
    assert (out / "adapter_model.safetensors").read_bytes() == weights

    # cut short after its last checkpoint: the record and final weights are gone, the checkpoints stay
    (out / TRAIN_RECORD).unlink()
    (out / "adapter_model.safetensors").unlink()
    assert train_unless_done(config) is True
    assert [r["step"] for r in read_log(out / "train_log.jsonl")] == [1, 2]  # resumed, no step twice
    assert (out / "adapter_model.safetensors").read_bytes() == weights

    changed = replace(config, lr=5e-3)
    assert train_unless_done(changed) is True  # other inputs: the old model is replaced
    assert json.loads((out / TRAIN_RECORD).read_text())["inputs"] == training_inputs(changed)
    assert [r["step"] for r in read_log(out / "train_log.jsonl")] == [1, 2]
    assert (out / "adapter_model.safetensors").read_bytes() != weights
