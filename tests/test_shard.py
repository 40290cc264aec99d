"""`--shard i/N`: every unit lands in exactly one shard, the same one on every machine."""

import pytest

from ditto.errors import DittoError
from ditto.shard import Shard


def test_every_key_falls_in_exactly_one_shard_and_shards_are_balanced():
    keys = [f"Q{i}@en" for i in range(3000)]
    shards = [Shard(i, 3) for i in (1, 2, 3)]
    owners = [[s for s in shards if s.owns(k)] for k in keys]
    assert all(len(o) == 1 for o in owners)
    sizes = [sum(o[0] is s for o in owners) for s in shards]
    assert min(sizes) > 900, sizes  # 1000 each in expectation


def test_membership_does_not_depend_on_order_or_on_the_other_keys():
    keys = [f"item-{i}" for i in range(200)]
    shard = Shard(2, 4)
    mine = shard.select(keys, str)
    assert 0 < len(mine) < len(keys)
    assert shard.select(list(reversed(keys)), str) == list(reversed(mine))
    assert [k for k in shard.select(keys + [f"more-{i}" for i in range(50)], str) if k in keys] == mine
    assert Shard(1, 1).select(keys, str) == keys


@pytest.mark.parametrize("text", ["0/2", "3/2", "1", "a/b", "1/0", "-1/2", "1/2/3"])
def test_bad_shards_are_refused_naming_the_option(text):
    with pytest.raises(DittoError, match=f"--shard {text}: expected i/N"):
        Shard.parse(text)


def test_parse():
    assert Shard.parse("2/5") == Shard(2, 5)
    assert Shard.parse(None) is None
    assert str(Shard(2, 5)) == "2/5"
