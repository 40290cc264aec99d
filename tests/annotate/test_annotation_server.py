"""The annotation server's rules, over HTTP without a browser: session tokens, malformed posts,
the page token, what is exposed, and the queries task."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from ditto.annotate.app import TOKEN_COOKIE, Annotation, create_app
from ditto.annotate.sample import annotation_sample
from ditto.annotate.server import check_exposure
from ditto.errors import DittoError
from ditto.store import RunStore
from tests.annotate.runs import write_judged_run, write_simulate_run
from tests.in_process import ditto_in_process


@pytest.fixture()
def page(tmp_path):
    run_dir = write_judged_run(tmp_path / "eval")
    with RunStore(run_dir) as store:
        annotation = Annotation(store=store, task="turns", units=annotation_sample(run_dir, "turns", 10, 0))
        with TestClient(create_app(annotation), follow_redirects=False) as client:
            yield client, annotation


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def first_unit(client) -> tuple[str, str]:
    html = client.get("/a/ann/0").text
    return html, csrf_of(html)


def test_a_good_post_is_stored_and_moves_on_to_the_rest_of_the_turn(page):
    client, annotation = page
    _, csrf = first_unit(client)
    unit = annotation.units[0]
    speaker = unit.candidates[2].name
    response = client.post("/a/ann/0", data={"csrf": csrf, "consistency": speaker})
    assert response.status_code == 303 and response.headers["location"] == "/a/ann/0"  # knowledge, rejection next
    stored = annotation.store.labels("turns", "ann")
    assert [(s.item, s.turn, s.metric, s.value) for s in stored] == [(unit.item, unit.turn, "consistency", speaker)]
    html = client.get("/a/ann/0").text
    assert 'id="character"' in html and unit.character in html  # shown only now
    response = client.post("/a/ann/0", data={"csrf": csrf, "knowledge": "8", "rejection": "0"})
    assert response.status_code == 303 and response.headers["location"] == "/a/ann/1"
    assert {s.metric: s.value for s in annotation.store.labels("turns", "ann")} == {
        "consistency": speaker, "knowledge": 8, "rejection": 0}


def test_the_speaker_is_not_in_the_page_while_it_is_asked(page):
    client, annotation = page
    html, _ = first_unit(client)
    unit = annotation.units[0]
    assert 'id="character"' not in html and unit.about not in html and unit.evidence not in html


BAD_POSTS = [
    ({}, "session token"),
    ({"csrf": "stale"}, "session token"),
    ({"knowledge": "11"}, "not an integer 1-10"),
    ({"knowledge": "seven"}, "not an integer"),
    ({"rejection": "2"}, "not 0 or 1"),
    ({"consistency": "Nobody at all"}, "no candidate"),
    ({"query_valid": "1"}, "not asked"),
    ({"knowledge": ["7", "8"]}, "given 2 times"),
    ({"knowledge": "7", "admin": "1"}, "unknown form fields: admin"),
    ({}, "no label"),
]


@pytest.mark.parametrize(("fields", "reason"), BAD_POSTS)
def test_a_malformed_post_is_a_400_and_changes_nothing(page, fields, reason):
    client, annotation = page
    _, csrf = first_unit(client)
    client.post("/a/ann/0", data={"csrf": csrf, "rejection": "1"})  # one label already there
    before = annotation.store.labels()
    data = ({"csrf": csrf} if reason != "session token" else {}) | fields
    response = client.post("/a/ann/0", data=data)
    assert response.status_code == 400 and reason in response.text
    assert annotation.store.labels() == before


def test_unknown_units_and_names_are_404(page):
    client, annotation = page
    _, csrf = first_unit(client)
    assert client.post(f"/a/ann/{len(annotation.units)}", data={"csrf": csrf, "rejection": "1"}).status_code == 404
    assert client.get("/a/ann/-1").status_code == 404
    assert client.get("/a/not%20a%20name/0").status_code == 404
    assert client.get("/?annotator=%3Cscript%3E").status_code == 400
    assert annotation.store.labels() == []


def test_scripts_and_styles_run_only_with_the_responses_own_nonce(page):
    client, _ = page
    response = client.get("/a/ann/0")
    policy = response.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    assert "default-src 'none'" in policy and f"script-src 'nonce-{nonce}'" in policy
    assert re.findall(r"<script[^>]*>", response.text) == [f'<script nonce="{nonce}">']
    assert client.get("/a/ann/0").headers["content-security-policy"] != policy  # a new nonce each time


def test_with_a_token_every_request_needs_it(tmp_path):
    run_dir = write_judged_run(tmp_path / "eval")
    with RunStore(run_dir) as store:
        annotation = Annotation(store=store, task="turns", units=annotation_sample(run_dir, "turns", 10, 0),
                                token="s3cret-token")
        with TestClient(create_app(annotation), follow_redirects=False) as client:
            assert client.get("/").status_code == 403
            assert client.get("/export.jsonl").status_code == 403
            assert client.get("/a/ann/0?token=wrong-token").status_code == 403
            entry = client.get("/a/ann/0?token=s3cret-token")
            assert entry.status_code == 303 and entry.headers["location"] == "/a/ann/0"
            assert TOKEN_COOKIE in entry.cookies
            assert client.get("/a/ann/0").status_code == 200  # the cookie carries it from now on


def test_the_page_stays_on_loopback_unless_given_a_token(tmp_path):
    check_exposure("127.0.0.1", None)
    check_exposure("::1", None)
    check_exposure("localhost", None)
    check_exposure("0.0.0.0", "long-enough-token")
    with pytest.raises(DittoError, match="--host 0.0.0.0: .* needs --token"):
        check_exposure("0.0.0.0", None)
    with pytest.raises(DittoError, match="--token"):
        check_exposure("192.168.1.5", "short")
    run_dir = write_judged_run(tmp_path / "eval")
    result = ditto_in_process("annotate", "serve", str(run_dir), "--host", "0.0.0.0")
    assert result.returncode == 2 and result.stderr.strip().splitlines() == [
        "error: --host 0.0.0.0: a page reachable from other machines needs --token SECRET"]
    assert not (run_dir / "store.sqlite").exists()  # refused before anything was opened


def test_a_run_without_the_tasks_file_is_one_line(tmp_path):
    result = ditto_in_process("annotate", "serve", str(tmp_path), "--task", "queries")
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {tmp_path}/sessions.jsonl: no such file") and "ditto simulate" in line


def test_queries_are_labelled_valid_or_not_with_their_kind_explained(tmp_path):
    run_dir = write_simulate_run(tmp_path / "sim")
    with RunStore(run_dir) as store:
        annotation = Annotation(store=store, task="queries", units=annotation_sample(run_dir, "queries", 10, 0))
        with TestClient(create_app(annotation), follow_redirects=False) as client:
            for position, unit in enumerate(annotation.units):
                html = client.get(f"/a/ann/{position}").text
                assert unit.question in html
                assert ("Contrastive" in html) == (unit.kind == "contrastive")
                response = client.post(f"/a/ann/{position}", data={"csrf": csrf_of(html), "query_valid": "1"})
                assert response.status_code == 303
            assert response.headers["location"] == "/a/ann/done"
            assert client.post("/a/ann/0", data={"csrf": csrf_of(html), "knowledge": "5"}).status_code == 400
    with RunStore(run_dir) as store:
        assert sorted((s.item, s.turn, s.metric, s.value) for s in store.labels("queries")) == sorted(
            (u.item, u.turn, "query_valid", 1) for u in annotation.units)
