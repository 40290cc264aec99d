"""`ditto eval run --dry-run` and `--shard`, which need no model: counted from the eval set."""

from tests.evaluate.test_eval_sets import TOP_LEVEL_STYLE, write_lines
from tests.in_process import ditto_in_process


def eval_run(*args: str):
    return ditto_in_process("eval", "run", *args)


def rows(stdout: str) -> dict[str, list[int]]:
    table = {}
    for line in stdout.splitlines():
        parts = line.split()
        if parts and parts[0] in ("rollout", "judge", "mt-bench"):
            table[parts[0]] = [int(p.replace(",", "")) for p in parts[1:5]]
    return table


def test_dry_run_counts_every_request_and_shards_split_the_dialogues(tmp_path):
    items = [dict(TOP_LEVEL_STYLE, id=f"q{i}", prompts=["你好？"] * (1 + i % 3), ref_messages=[],
                  rejection_labels=[], evidence=[]) for i in range(12)]
    eval_file = write_lines(tmp_path / "eval.jsonl", *items)
    turns = sum(1 + i % 3 for i in range(12))
    common = ["--eval", str(eval_file), "--judge-n", "3", "--max-tokens", "50", "--judge-max-tokens", "20", "--dry-run"]
    whole = eval_run(*common, "--out", str(tmp_path / "run"))
    assert whole.returncode == 0, whole.stderr
    table = rows(whole.stdout)
    assert table["rollout"][:2] == [turns, turns] and table["rollout"][3] == turns * 50
    assert table["judge"][:2] == [turns * 3 * 3, turns * 3 * 3 * 3]  # 3 questions x n=3, 2 re-asks
    assert table["judge"][3] == turns * 3 * 3 * 3 * 20
    assert not (tmp_path / "run").exists()

    shard_turns = []
    for index in (1, 2, 3):
        part = eval_run(*common, "--out", str(tmp_path / f"s{index}"), "--shard", f"{index}/3")
        assert part.returncode == 0, part.stderr
        shard_turns.append(rows(part.stdout)["rollout"][0])
    assert sum(shard_turns) == turns and all(shard_turns)


def test_an_empty_shard_is_one_line_and_exit_2(tmp_path):
    eval_file = write_lines(tmp_path / "eval.jsonl", TOP_LEVEL_STYLE)
    results = [eval_run("--eval", str(eval_file), "--out", str(tmp_path / "run"), "--shard", f"{i}/2", "--dry-run")
               for i in (1, 2)]
    assert sorted(r.returncode for r in results) == [0, 2]
    shard = next(f"{i}/2" for i, r in zip((1, 2), results) if r.returncode == 2)
    refused = next(r for r in results if r.returncode == 2)
    assert refused.stderr.strip() == f"error: --shard {shard}: no dialogue of {eval_file} falls in this shard"
