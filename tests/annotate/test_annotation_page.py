"""The annotation page in a real browser: Debian's chromium driven by Playwright, against
`ditto annotate serve` running as a user would start it.

The store is read straight from its SQLite file here (not through ditto), so that what the
page and the export claim is checked against what was really committed."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.annotate.runs import HOSTILE, RECORDS, write_judged_run
from tests.conftest import die_with_parent, free_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install -y chromium; .ci/run does it)"
)
TURNS = sum(len(record["prompts"]) for record in RECORDS)  # 6: the sample is all of them


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    run_dir = write_judged_run(tmp_path_factory.mktemp("annotate") / "eval")
    port = free_port()
    log = (run_dir.parent / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "ditto", "annotate", "serve", str(run_dir), "--port", str(port), "--sample", "10"],
        stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, (run_dir.parent / "serve.log").read_text()
        try:
            httpx.get(base + "/", timeout=1)
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the page did not start"
            time.sleep(0.2)
    yield base, run_dir
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def stored_rows(run_dir: Path, annotator: str) -> list[tuple]:
    db = sqlite3.connect(f"file:{run_dir / 'store.sqlite'}?mode=ro", uri=True)
    try:
        return db.execute(
            "SELECT annotator, item, turn, metric, value, labelled_at FROM labels WHERE annotator = ? "
            "ORDER BY item, turn, metric", (annotator,)).fetchall()
    finally:
        db.close()


def shown_unit(page) -> tuple[str, str]:
    """(question, reply) on the page, which identify the turn being labelled."""
    return page.inner_text("#question"), page.inner_text("#reply")


def turn_of(question: str, reply: str) -> tuple[str, int, dict]:
    for record in RECORDS:
        for turn, (asked, answered) in enumerate(zip(record["prompts"], record["answers"])):
            if (asked, answered) == (question, reply):
                return record["id"], turn, record
    raise AssertionError(f"the page shows a turn that is not in the run: {question!r}")


def candidate_names(record: dict) -> list[str]:
    return [line.split("]")[0].lstrip("[") if line.startswith("[") else line.split("】")[0].lstrip("【")
            for line in record["candidates"]]


def label_with_keys(page, candidate_key: str, knowledge_key: str, refusal_key: str) -> None:
    """One turn, keyboard only: the speaker (which saves and reveals the character), then the
    knowledge score and the refusal, then Enter."""
    with page.expect_navigation():
        page.keyboard.press(candidate_key)
    assert page.is_visible("#character"), "the character is shown once the speaker is chosen"
    page.keyboard.press(knowledge_key)
    page.keyboard.press(refusal_key)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_five_turns_labelled_by_keyboard_are_kept_across_a_reload_and_exported_as_stored(served, browser):
    base, run_dir = served
    page = browser.new_page(accept_downloads=True)
    page.goto(base + "/?annotator=alice")
    expected = {}
    for step in range(5):
        assert page.inner_text("#progress") == f"{step} / {TURNS} done"
        assert page.query_selector("#character") is None, "the speaker's name is hidden while asked who speaks"
        item, turn, record = turn_of(*shown_unit(page))
        names = candidate_names(record)
        choice = step % 4  # keys 1..4 pick the candidate at that position
        knowledge = step + 3
        label_with_keys(page, str(choice + 1), str(knowledge), "y" if step % 2 else "n")
        expected[(item, turn)] = {"consistency": names[choice], "knowledge": knowledge, "rejection": step % 2}

    page.reload()
    assert page.inner_text("#progress") == f"5 / {TURNS} done"
    rows = stored_rows(run_dir, "alice")
    assert {(item, turn, metric): json.loads(value) for _, item, turn, metric, value, _ in rows} == {
        (item, turn, metric): value for (item, turn), values in expected.items() for metric, value in values.items()
    }

    # Back to the last labelled turn: its labels are shown as given.
    with page.expect_navigation():
        page.keyboard.press("ArrowLeft")
    item, turn, _ = turn_of(*shown_unit(page))
    given = expected[(item, turn)]
    assert page.is_checked(f'#knowledge input[value="{given["knowledge"]}"]')
    assert page.is_checked(f'#rejection input[value="{given["rejection"]}"]')
    assert page.is_checked(f'#consistency input[value="{given["consistency"]}"]')

    with page.expect_download() as download:
        page.click("text=Export labels")
    exported = [json.loads(line) for line in Path(download.value.path()).read_text(encoding="utf-8").splitlines()]
    assert sorted((e["annotator"], e["item"], e["turn"], e["metric"], e["value"], e["labelled_at"])
                  for e in exported) == sorted((*row[:4], json.loads(row[4]), row[5]) for row in rows)
    page.close()


def test_hostile_reply_text_renders_as_text(served, browser):
    base, _ = served
    page = browser.new_page()
    hostile_question = next(record["prompts"][t] for record in RECORDS for t, answer in enumerate(record["answers"])
                            if answer == HOSTILE)
    for position in range(TURNS):
        page.goto(f"{base}/a/mallory/{position}")
        if page.inner_text("#question") == hostile_question:
            break
    assert page.inner_text("#reply") == HOSTILE
    assert page.query_selector("#reply img") is None and page.query_selector("#reply script") is None
    assert page.title() != "pwned"
    page.close()


def test_a_second_annotator_sees_their_own_progress(served, browser):
    base, run_dir = served
    page = browser.new_page()
    page.goto(base + "/")
    page.fill("#annotator", "bob")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.inner_text("#progress") == f"0 / {TURNS} done"
    label_with_keys(page, "2", "0", "n")  # 0 is knowledge 10
    assert page.inner_text("#progress") == f"1 / {TURNS} done"
    [(_, _, _, _, knowledge)] = [row[:5] for row in stored_rows(run_dir, "bob") if row[3] == "knowledge"]
    assert json.loads(knowledge) == 10
    page.goto(base + "/")
    listed = page.inner_text("main")
    assert f"bob: 1 / {TURNS}" in listed
    page.close()
