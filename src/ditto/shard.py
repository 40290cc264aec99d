"""`--shard i/N`: N machines share one stage by each doing the work units that hash to it.

A unit (a character, an eval item, an input line) belongs to shard `i` when a stable hash
of its key falls in bucket `i`, so the split does not depend on order, on the other units
or on the machine, and a pool that grows keeps its old units where they were. Every shard
makes exactly the requests the unsharded run would make for its units; `ditto merge` joins
the shards' run stores, and the stage re-run without `--shard` on the merged store
answers everything from it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from ditto.errors import DittoError

T = TypeVar("T")


@dataclass(frozen=True)
class Shard:
    index: int
    """1-based: `--shard 1/4` ... `--shard 4/4`."""
    count: int

    @classmethod
    def parse(cls, text: str | None, option: str = "--shard") -> Shard | None:
        if text is None:
            return None
        index, slash, count = text.partition("/")
        try:
            shard = cls(int(index), int(count))
        except ValueError:
            shard = None
        if not slash or shard is None or not 1 <= shard.index <= shard.count:
            raise DittoError(f"{option} {text}: expected i/N with 1 <= i <= N, e.g. 1/4")
        return shard

    def owns(self, key: str) -> bool:
        bucket = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % self.count
        return bucket == self.index - 1

    def select(self, items: Iterable[T], key: Callable[[T], str]) -> list[T]:
        return [item for item in items if self.owns(key(item))]

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"
