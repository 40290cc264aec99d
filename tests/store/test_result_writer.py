"""Results are committed in groups a few milliseconds apart, by a thread of their own, and
never lost: a reader sees every result put before it reads, a result waits no longer than a
few milliseconds for its commit even when no other follows, and what `complete` received
is committed before it returns or raises."""

import sqlite3
import time
from contextlib import closing

import pytest

from ditto.errors import DittoError
from ditto.models.calls import complete
from ditto.store import RunStore, request_key
from ditto.store.result_writer import GROUP_SECONDS, ResultWriter
from ditto.types import ChatRequest, Completion, Message, SamplingParams, Usage
from tests.scripted import ScriptedModel


def put(store: RunStore, index: int) -> str:
    request = ChatRequest(messages=(Message(role="user", content=f"question {index}"),),
                          params=SamplingParams().for_sample(0))
    key = request_key("m", request)
    store.put(key, "m", request, Completion(text=f"answer {index}", usage=Usage(completion_tokens=2)), 0.01)
    return key


def committed_rows(run_dir) -> int:
    """What another process would see: a connection of its own."""
    with closing(sqlite3.connect(run_dir / "store.sqlite")) as db:
        return db.execute("SELECT COUNT(*) FROM requests").fetchone()[0]


def test_many_results_are_committed_in_few_transactions_and_all_read_back(tmp_path):
    with RunStore(tmp_path) as store:
        keys = [put(store, i) for i in range(2000)]
        found = store.get_many(keys)  # reads after the puts see all of them
        assert len(found) == 2000 and found[keys[1234]].text == "answer 1234"
        assert committed_rows(tmp_path) == 2000
        assert 1 <= store._writer.groups < 200, store._writer.groups  # one commit a row would be 2000


def test_a_lone_result_is_committed_within_milliseconds_without_a_flush(tmp_path):
    """A stream of answers that pauses (a slow server) must not leave the last ones
    uncommitted until the next arrives: the writer commits on its own clock."""
    with RunStore(tmp_path) as store:
        put(store, 0)
        deadline = time.monotonic() + 5
        while committed_rows(tmp_path) == 0:
            assert time.monotonic() < deadline, "a lone result was not committed"
            time.sleep(GROUP_SECONDS)


def test_what_complete_received_is_committed_before_its_error_leaves_it(tmp_path):
    class FailsAfterTwo(ScriptedModel):
        def generate(self, requests):
            for index, item in enumerate(super().generate(requests)):
                if index == 2:
                    raise DittoError("model request failed after 9 attempts")
                yield item

    model = FailsAfterTwo(lambda request: "fine")
    with RunStore(tmp_path) as store:
        with pytest.raises(DittoError):
            complete(model, store, [[Message(role="user", content=f"q{i}")] for i in range(5)], SamplingParams(),
                     progress=False)
        assert committed_rows(tmp_path) == 2  # seen from outside before the store is closed


def test_a_failed_commit_is_raised_to_the_thread_that_waits_for_it(tmp_path):
    RunStore(tmp_path).close()  # the schema
    writer = ResultWriter(tmp_path / "store.sqlite")
    writer.add(("key", "m", "{}"))  # too few values: the insert fails
    with pytest.raises(sqlite3.ProgrammingError):
        writer.flush()
    writer.add(("key", "m", "{}", 0, "text", "stop", 0, 0, 0.0, None, None))  # the writer goes on
    writer.close()
    assert committed_rows(tmp_path) == 1


def test_a_writer_that_cannot_open_the_database_raises_instead_of_waiting(tmp_path):
    writer = ResultWriter(tmp_path / "missing-folder" / "store.sqlite")
    writer.add(("key", "m", "{}", 0, "text", "stop", 0, 0, 0.0, None, None))
    with pytest.raises(sqlite3.OperationalError):
        writer.flush()
