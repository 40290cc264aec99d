import json

import pytest

from ditto.errors import DittoError
from ditto.evaluate.candidates import candidate_name
from ditto.evaluate.eval_sets import read_eval_set, write_eval_set

OFFICIAL_STYLE = {
    "messages": [
        {"role": "system", "content": "You are Sherlock Holmes, fictional detective."},
        {"role": "user", "content": "Where do you live?"},
        {"role": "assistant", "content": "At 221B Baker Street."},
        {"role": "user", "content": "What is a smartphone?"},
        {"role": "assistant", "content": "I know of no such device."},
    ],
    "meta": {
        "label": "Sherlock Holmes",
        "summary": "A consulting detective in London.",
        "lang": "en",
        "evidence": [["residence: 221B Baker Street"], ""],
        "role_consist_cands": ["Sherlock Holmes: a detective", "Li Bai: a poet", "Marie Curie", "Hamlet"],
        "rejection_labels": [0, 1],
    },
}

TOP_LEVEL_STYLE = {
    "id": "q1",
    "system": "你是李白，唐代诗人。",
    "prompts": ["你喜欢喝酒吗？"],
    "ref_messages": ["当然，举杯邀明月。"],
    "label": "李白",
    "lang": "zh",
    "rejection_labels": [0],
    "evidence": ["代表作品：《月下独酌》"],
    "role_consist_cands": ["李白", "杜甫", "苏轼", "王维"],
    "summary": "唐代诗人。",
}


def write_lines(path, *records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def test_reads_fields_under_meta_and_dialogue_as_messages(tmp_path):
    [item] = read_eval_set(write_lines(tmp_path / "eval.jsonl", OFFICIAL_STYLE))
    assert item.label == "Sherlock Holmes" and item.lang == "en"
    assert item.system == "You are Sherlock Holmes, fictional detective."
    assert item.prompts == ["Where do you live?", "What is a smartphone?"]
    assert item.ref_messages == ["At 221B Baker Street.", "I know of no such device."]
    assert item.rejection_labels == [0, 1]
    assert item.evidence == ["residence: 221B Baker Street", ""]
    assert [candidate_name(c) for c in item.candidates] == ["Sherlock Holmes", "Li Bai", "Marie Curie", "Hamlet"]


def test_reads_top_level_fields(tmp_path):
    [item] = read_eval_set(write_lines(tmp_path / "eval.jsonl", TOP_LEVEL_STYLE))
    assert (item.id, item.label, item.lang, item.prompts, item.ref_messages) == (
        "q1", "李白", "zh", ["你喜欢喝酒吗？"], ["当然，举杯邀明月。"])


def test_a_null_top_level_field_is_read_from_meta(tmp_path):
    # records.eval_field's one rule, as in scoring: the top-level value unless it is absent or null.
    record = dict(OFFICIAL_STYLE, id=None, label=None, lang=None, meta=dict(OFFICIAL_STYLE["meta"], id="sh-1"))
    [item] = read_eval_set(write_lines(tmp_path / "eval.jsonl", record))
    assert (item.id, item.label, item.lang) == ("sh-1", "Sherlock Holmes", "en")


def test_round_trip_keeps_everything_and_the_official_layout(tmp_path):
    items = read_eval_set(write_lines(tmp_path / "a.jsonl", OFFICIAL_STYLE, TOP_LEVEL_STYLE))
    write_eval_set(tmp_path / "b.jsonl", items)
    written = [json.loads(line) for line in (tmp_path / "b.jsonl").read_text(encoding="utf-8").splitlines()]
    assert written[0]["meta"]["role_consist_cands"] == OFFICIAL_STYLE["meta"]["role_consist_cands"]
    assert written[0]["messages"][1:] == OFFICIAL_STYLE["messages"][1:]
    assert read_eval_set(tmp_path / "b.jsonl") == items


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda r: r["meta"].pop("label"), ":2: no 'label'"),
        (lambda r: r["meta"].update(rejection_labels=[0]), ":2: 1 rejection_labels for 2 prompts"),
        (lambda r: r.update(messages=[]), ":2: no prompts"),
    ],
)
def test_bad_records_name_file_and_line(tmp_path, change, message):
    bad = json.loads(json.dumps(OFFICIAL_STYLE))
    change(bad)
    path = write_lines(tmp_path / "eval.jsonl", TOP_LEVEL_STYLE, bad)
    with pytest.raises(DittoError, match=message):
        read_eval_set(path)
