"""Schema changes, append-only: each entry runs once, in order, and bumps `user_version`.
Never edit a released entry; add a new one."""

import sqlite3

MIGRATIONS: list[str] = [
    # 1: every model request and its result, keyed by what determines the output.
    """
    CREATE TABLE requests (
        key TEXT PRIMARY KEY,
        model TEXT NOT NULL,
        request TEXT NOT NULL,
        sample_index INTEGER NOT NULL,
        text TEXT NOT NULL,
        finish_reason TEXT NOT NULL,
        prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL,
        latency_s REAL NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    """,
    # 2, 3: where each answer came from (a base URL, or "local") and, for a request with a
    # response schema, whether the schema was enforced or the answer read from free text.
    "ALTER TABLE requests ADD COLUMN endpoint TEXT",
    "ALTER TABLE requests ADD COLUMN structured TEXT",
    # 4: what each endpoint's structured-output probe found (one row per probe).
    """
    CREATE TABLE endpoint_probes (
        model TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        form TEXT,
        enforced INTEGER NOT NULL,
        detail TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    """,
    # 5: people's labels (`ditto annotate`): one row per annotator, task, item, turn and
    # metric, replaced when that person labels it again; `value` is JSON (a name or a number).
    """
    CREATE TABLE labels (
        annotator TEXT NOT NULL,
        task TEXT NOT NULL,
        item TEXT NOT NULL,
        turn INTEGER NOT NULL,
        metric TEXT NOT NULL,
        value TEXT NOT NULL,
        labelled_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        PRIMARY KEY (annotator, task, item, turn, metric)
    );
    """,
]


def apply_migrations(db: sqlite3.Connection, migrations: list[str]) -> None:
    """Run the migrations a database has not seen yet, each in its own transaction."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    for number, script in enumerate(migrations[version:], start=version + 1):
        db.execute("BEGIN")
        db.execute(script)
        db.execute(f"PRAGMA user_version = {number}")
        db.execute("COMMIT")
