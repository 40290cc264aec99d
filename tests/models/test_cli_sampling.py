"""`--repetition-penalty` of `ditto generate`, `ditto chat` and `ditto simulate` reaches every
request the model gets (a scripted model records them), and is left unset by default."""

from __future__ import annotations

import io
import json

import pytest

from ditto.cli import main
from tests.scripted import ScriptedModel


def run_cli(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 0


@pytest.mark.parametrize("given, sent", [([], None), (["--repetition-penalty", "1.1"], 1.1)])
def test_generate_sends_the_repetition_penalty(tmp_path, monkeypatch, given, sent):
    model = ScriptedModel(lambda request: "ok")
    monkeypatch.setattr("ditto.cli.generate.load_model", lambda *args: model)
    chats = tmp_path / "chats.jsonl"
    chats.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n")
    run_cli(["generate", "-i", str(chats), "-o", str(tmp_path / "out.jsonl"), "--run", str(tmp_path / "r"),
             "--no-progress", *given])
    assert [r.params.repetition_penalty for r in model.requests] == [sent]


def test_chat_sends_the_repetition_penalty(tmp_path, monkeypatch):
    model = ScriptedModel(lambda request: "Elementary.")
    monkeypatch.setattr("ditto.models.load_model", lambda *args, **kwargs: model)
    monkeypatch.setattr("sys.stdin", io.StringIO("Who are you?\n"))
    main_args = ["chat", "--character", "Sherlock Holmes", "--run", str(tmp_path / "r"), "--repetition-penalty", "1.2"]
    run_cli(main_args)
    assert [r.params.repetition_penalty for r in model.requests] == [1.2]


def test_a_penalty_of_zero_is_refused_in_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as refused:
        main(["simulate", "--repetition-penalty", "0", "--dry-run"])
    assert refused.value.code == 2
    assert capsys.readouterr().err.strip() == "error: --repetition-penalty 0.0: must be above 0.0"
    chats = tmp_path / "chats.jsonl"
    chats.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n")
    with pytest.raises(SystemExit) as refused:
        main(["generate", "-i", str(chats), "-o", str(tmp_path / "o.jsonl"), "--repetition-penalty", "0"])
    assert refused.value.code == 2 and "--repetition-penalty" in capsys.readouterr().err


def test_simulate_options_reach_its_config(monkeypatch):
    captured = {}

    def estimate(pool, config):
        captured["config"] = config
        return []

    monkeypatch.setattr("ditto.cli.simulate.estimate_simulation", estimate)
    run_cli(["simulate", "--dry-run", "--repetition-penalty", "1.1", "--top-p", "0.8", "--summary-tokens", "600",
             "--with-article", "--article-tokens", "300"])
    config = captured["config"]
    assert (config.repetition_penalty, config.top_p, config.summary_tokens) == (1.1, 0.8, 600)
    assert (config.with_article, config.article_tokens) == (True, 300)
    assert config.response_params.repetition_penalty == config.query_params.repetition_penalty == 1.1
