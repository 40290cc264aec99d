"""The run directory and its SQLite store: the only code in ditto that writes SQL."""

from ditto.store.labels import StoredLabel
from ditto.store.run_store import RunStore, request_key

__all__ = ["RunStore", "StoredLabel", "request_key"]
