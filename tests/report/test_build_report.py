"""`ditto report` on three run directories written by hand: a seed model, Ditto and an official-layout run.

Every number the tests expect is worked out by hand in the comments beside the records.
"""

import json
import re

import markupsafe
import pytest
import typer
from matplotlib.image import imread
from typer.testing import CliRunner

from ditto.cli.report import report_command
from ditto.errors import DittoError
from ditto.report import build_report

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'


def item(item_id, lang, category, prompts, answers, labels, consist, reject, knowledge):
    """A judged record in our layout (JudgedItem): eval fields at the top level."""
    return {
        "id": item_id, "lang": lang, "label": "Sherlock Holmes" if lang == "en" else "孙悟空",
        "category": category, "system": "...", "prompts": prompts, "answers": answers,
        "rejection_labels": labels, "consist_scores": consist, "reject_scores": reject, "knowledge_scores": knowledge,
    }


EN_PROMPTS = ["Where do you live?", "What is a smartphone?"]
ZH_PROMPTS = ["你住在哪里？"]

SEED = [
    # consistency 1, 0; rejection: verdicts 0, 0 vs labels 0, 1 -> 1, 0; knowledge 6, 4
    item("en-1", "en", "human", EN_PROMPTS, ["221B Baker Street.", "A phone, I think."],
         [0, 1], [1.0, 0.0], [0, 0], [6, 4]),
    # consistency .5; rejection 0 vs 0 -> 1; knowledge 8
    item("zh-1", "zh", "fictional", ZH_PROMPTS, ["花果山。"], [0], [0.5], [0], [8]),
]
# seed, all 3 turns: consistency (1 + 0 + .5) / 3 = 0.50; rejection 2 / 3 = 0.67; knowledge 18 / 3 = 6.00
#       en: consistency 0.50, rejection 0.50, knowledge 5.00; zh: 0.50, 1.00, 8.00
DITTO = [
    # consistency 1, 1; rejection 0, 1 vs 0, 1 -> 1, 1; knowledge 9, 0 (0: not judged)
    item("en-1", "en", "human", EN_PROMPTS, [SCRIPT, IMG], [0, 1], [1.0, 1.0], [0, 1], [9, 0]),
    # consistency .75; rejection 1 vs 0 -> 0; knowledge 7
    item("zh-1", "zh", "fictional", ZH_PROMPTS, ["俺老孙住在花果山水帘洞！"], [0], [0.75], [1], [7]),
]
# ditto, all: consistency 2.75 / 3 = 0.9167 -> 0.92; rejection 2 / 3 = 0.67; knowledge (9 + 7) / 2 = 8.00
#        en: 1.00, 1.00, 9.00; zh: 0.75, 0.00, 7.00
OFFICIAL = [
    # The official judged layout: fields under "meta", the dialogue as chat messages.
    {
        "messages": [
            {"role": "system", "content": "..."},
            {"role": "user", "content": EN_PROMPTS[0]}, {"role": "assistant", "content": "London."},
            {"role": "user", "content": EN_PROMPTS[1]}, {"role": "assistant", "content": "I do not know that word."},
        ],
        "meta": {"id": "en-1", "lang": "en", "label": "Sherlock Holmes", "rejection_labels": [0, 1]},
        # consistency .5, .5; rejection 1, 1 vs 0, 1 -> 0, 1; knowledge 5, 5
        "consist_scores": [0.5, 0.5], "reject_scores": [1, 1], "knowledge_scores": [5, 5],
    },
    {
        "messages": [{"role": "system", "content": "..."}, {"role": "user", "content": ZH_PROMPTS[0]},
                     {"role": "assistant", "content": "水帘洞。"}],
        "meta": {"id": "zh-1", "lang": "zh", "label": "孙悟空", "rejection_labels": [0]},
        # consistency .25; rejection 0 vs 0 -> 1; knowledge null: not judged
        "consist_scores": [0.25], "reject_scores": [0], "knowledge_scores": [None],
    },
]
# official, all: consistency 1.25 / 3 = 0.4167 -> 0.42; rejection 2 / 3 = 0.67; knowledge 10 / 2 = 5.00
#           en: 0.50, 0.50, 5.00; zh: 0.25, 1.00, n/a


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture()
def run_dirs(tmp_path):
    seed, ditto, official = tmp_path / "seed", tmp_path / "ditto", tmp_path / "official-gpt4"
    for directory, records in ((seed, SEED), (ditto, DITTO), (official, OFFICIAL)):
        directory.mkdir()
        write_jsonl(directory / "judged.jsonl", records)
    # MT-Bench, seed: (7 + 8 + 6) / 3 scored turns = 7.00 (null: not scored)
    write_jsonl(seed / "mtbench.jsonl", [
        {"question_id": 91, "category": "roleplay", "turns": ["q1", "q2"], "answers": ["a1", "a2"],
         "scores": [7, 8], "judge_raw": []},
        {"question_id": 92, "category": "roleplay", "turns": ["q1", "q2"], "answers": ["a1", "a2"],
         "scores": [6, None], "judge_raw": []},
    ])
    # MT-Bench, ditto: role-play only, (9 + 8 + 8 + 7) / 4 = 8.00; the writing question is left out
    write_jsonl(ditto / "mtbench.jsonl", [
        {"question_id": 91, "category": "roleplay", "turns": ["q1", "q2"], "answers": ["a1", "a2"],
         "scores": [9, 8], "judge_raw": []},
        {"question_id": 92, "category": "roleplay", "turns": ["q1", "q2"], "answers": ["a1", "a2"],
         "scores": [8, 7], "judge_raw": []},
        {"question_id": 81, "category": "writing", "turns": ["q1", "q2"], "answers": ["a1", "a2"],
         "scores": [2, 2], "judge_raw": []},
    ])
    (seed / "run_info.json").write_text(json.dumps({
        "label": "seed", "model": "SmolLM2-135M", "judge": "qwen-72b", "eval_file": "eval.jsonl", "seconds": 95.4,
        "judge_calls": 1234,
        "tokens": {"rollout": {"prompt": 12000, "completion": 3400}, "judge": {"prompt": 56000, "completion": 7800}},
    }))
    (ditto / "run_info.json").write_text(json.dumps({
        "label": "Ditto", "model": "ditto-135M", "judge": "qwen-72b", "seconds": 300, "judge_calls": 1300,
        "tokens": {"rollout": {"prompt": 12500, "completion": 3900}},
    }))
    # A stale scores.json (the seed's consistency is 0.50, not 0.99) is reported, a current one is not.
    (seed / "scores.json").write_text(json.dumps({"all": {"consistency": 0.99, "knowledge": 6.0, "rejection": 0.67}}))
    (ditto / "scores.json").write_text(json.dumps({"all": {"consistency": 0.92, "knowledge": 8.0, "rejection": 0.67}}))
    return [seed, ditto, official]


def table_rows(markdown: str) -> dict[str, list[str]]:
    rows = {}
    for line in markdown.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            cells = [cell.strip() for cell in line.strip("|").split(" | ")]
            rows.setdefault(cells[0], cells[1:])  # the first table wins a repeated row name
    return rows


def means(cells: list[str]) -> list[str]:
    return [cell.split(" [")[0] for cell in cells]


def test_markdown_tables_hold_the_hand_computed_means(run_dirs, tmp_path):
    files = build_report(run_dirs, tmp_path / "report")
    assert set(files) == {"markdown", "html", "bars", "radar"}
    markdown = files["markdown"].read_text(encoding="utf-8")
    rows = table_rows(markdown)
    assert rows[""] == ["seed", "Ditto", "official-gpt4"]  # the order given; no run_info: the folder name
    assert means(rows["Consistency (0-1), all"]) == ["0.50", "0.92", "0.42"]
    assert means(rows["Knowledge (1-10), all"]) == ["6.00", "8.00", "5.00"]
    assert means(rows["Rejection (0-1), all"]) == ["0.67", "0.67", "0.67"]
    assert means(rows["Consistency (0-1), en"]) == ["0.50", "1.00", "0.50"]
    assert means(rows["Rejection (0-1), zh"]) == ["1.00", "0.00", "1.00"]
    assert means(rows["Knowledge (1-10), zh"]) == ["8.00", "7.00", "n/a"]
    assert rows["Turns, all"] == ["3", "3", "3"]
    # Each mean comes with its interval: "0.92 [low, high]" with low <= mean <= high.
    for cell in rows["Consistency (0-1), all"]:
        mean, low, high = (float(x) for x in re.fullmatch(r"(\S+) \[(\S+), (\S+)\]", cell).groups())
        assert low <= mean + 0.005 and mean - 0.005 <= high
    assert rows["MT-Bench role-play (1-10)"] == ["7.00 (3 turns)", "8.00 (4 turns)", "—"]
    assert rows["Judge calls"] == ["1,234", "1,300", "—"]
    assert rows["Tokens, rollout (prompt / completion)"] == ["12,000 / 3,400", "12,500 / 3,900", "—"]
    assert rows["Tokens, judge (prompt / completion)"] == ["56,000 / 7,800", "—", "—"]
    assert rows["Time"] == ["95 s", "5.0 min", "—"]
    assert rows["Model"] == ["SmolLM2-135M", "ditto-135M", "—"]
    # By category (seed: human = en-1, fictional = zh-1; the official run has no category: unknown)
    assert rows["Consistency (0-1), human"] == ["0.50", "1.00", "—"]
    assert rows["Knowledge (1-10), unknown"] == ["—", "—", "5.00"]
    assert "Note: " in markdown and "seed/scores.json disagrees" in markdown
    assert "ditto/scores.json" not in markdown


def test_example_dialogues_show_every_model_on_the_same_item(run_dirs, tmp_path):
    markdown = build_report(run_dirs, tmp_path / "report")["markdown"].read_text(encoding="utf-8")
    examples = markdown.split("## Example dialogues")[1]
    # Two items answered by all three runs: one per language, in the first run's order.
    assert re.findall(r"^### (.*)$", examples, re.MULTILINE) == [
        "1. Sherlock Holmes (en, item en-1)", "2. 孙悟空 (zh, item zh-1)"
    ]
    for text in ["> Where do you live?", "> 221B Baker Street.", "> London.", "> I do not know that word.",
                 "> 俺老孙住在花果山水帘洞！", "> 水帘洞。", "**seed:**", "**Ditto:**", "**official-gpt4:**"]:
        assert text in examples
    # Markdown viewers render inline HTML, so the hostile answers are escaped here too.
    assert SCRIPT not in markdown and "<img" not in markdown
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markdown


def test_charts_are_real_pngs(run_dirs, tmp_path):
    files = build_report(run_dirs, tmp_path / "report")
    for name in ("bars", "radar"):
        data = files[name].read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        assert len(data) > 10_000
        height, width, _ = imread(files[name]).shape
        assert height >= 300 and width >= 400
    assert files["bars"].name == "scores.png" and files["radar"].name == "radar.png"


def test_html_is_self_contained_and_escapes_model_text(run_dirs, tmp_path):
    files = build_report(run_dirs, tmp_path / "report")
    page = files["html"].read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    assert 'src="http' not in page and "href=" not in page and "@import" not in page
    images = re.findall(r'<img src="([^"]*)"', page)
    assert len(images) == 2 and all(src.startswith("data:image/png;base64,") for src in images)
    assert SCRIPT not in page and IMG not in page and "<img src=x" not in page
    assert str(markupsafe.escape(SCRIPT)) in page  # &lt;script&gt;alert(1)&lt;/script&gt;
    assert str(markupsafe.escape(IMG)) in page  # &#34;&gt;&lt;img src=x onerror=alert(1)&gt;
    assert "0.92 [" in page and "8.00 (4 turns)" in page


def test_warnings_open_both_reports_escaped(run_dirs, tmp_path):
    warning = f"the judge is the seed model itself ({SCRIPT}) | [x](https://evil.example)"
    files = build_report(run_dirs, tmp_path / "report", warnings=[warning, "second"])
    markdown = files["markdown"].read_text(encoding="utf-8")
    lines = markdown.splitlines()
    assert lines[2] == ("> **Warning:** the judge is the seed model itself (&lt;script&gt;alert(1)&lt;/script&gt;) "
                        "\\| [x\\](https://evil.example)")  # no tag, no table cell, no link
    assert lines[3] == "> **Warning:** second"
    assert markdown.index("**Warning:**") < markdown.index("## Scores")
    page = files["html"].read_text(encoding="utf-8")
    assert f'<p class="warning"><strong>Warning:</strong> {markupsafe.escape(warning)}</p>' in page
    assert page.count('class="warning"') == 2 and "<script" not in page.lower()
    assert "Warning" not in build_report(run_dirs, tmp_path / "plain")["markdown"].read_text(encoding="utf-8")


def test_missing_judged_file_and_bad_mtbench_line(run_dirs, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DittoError, match="empty: no judged.jsonl"):
        build_report([run_dirs[0], empty], tmp_path / "report")
    (run_dirs[0] / "mtbench.jsonl").write_text('{"question_id": 91, "scores": "seven"}\n')
    with pytest.raises(DittoError, match=r"mtbench.jsonl:1: 'scores' must be a list"):
        build_report(run_dirs, tmp_path / "report")
    with pytest.raises(DittoError, match="no run directories"):
        build_report([], tmp_path / "report")


def test_report_command(run_dirs, tmp_path):
    app = typer.Typer(add_completion=False)
    app.command()(report_command)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, [*map(str, run_dirs), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["radar.png", "report.html", "report.md", "scores.png"]
    assert "report.md" in result.output
