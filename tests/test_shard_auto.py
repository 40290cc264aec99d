"""`--shard auto`: i/N from a Slurm job array's or a Kubernetes Indexed Job's variables, the
same shard as the explicit i/N, and one line with exit code 2 when it cannot be had."""

import pytest

from ditto.errors import DittoError
from ditto.shard import SHARD_VARIABLES, Shard
from tests.evaluate.test_eval_sets import TOP_LEVEL_STYLE, write_lines
from tests.in_process import ditto_in_process

NEITHER = ("--shard auto: no scheduler's shard variables are set (Slurm job array: SLURM_ARRAY_TASK_ID, "
           "SLURM_ARRAY_TASK_COUNT, SLURM_ARRAY_TASK_MIN, SLURM_ARRAY_TASK_MAX, SLURM_ARRAY_TASK_STEP; "
           "Kubernetes Indexed Job: JOB_COMPLETION_INDEX and JOB_COMPLETIONS); give --shard i/N")


@pytest.fixture(autouse=True)
def env(monkeypatch):
    """No scheduler's variable from the machine running the tests; `env(NAME=value, ...)` sets some."""
    for name in SHARD_VARIABLES:
        monkeypatch.delenv(name, raising=False)

    def set_variables(**variables):
        for name, value in variables.items():
            monkeypatch.setenv(name, str(value))

    return set_variables


def slurm(env, task, first, last, count, step=1):
    env(SLURM_ARRAY_TASK_ID=task, SLURM_ARRAY_TASK_MIN=first, SLURM_ARRAY_TASK_MAX=last,
        SLURM_ARRAY_TASK_COUNT=count, SLURM_ARRAY_TASK_STEP=step)


def auto() -> Shard:
    return Shard.parse("auto")


@pytest.mark.parametrize("first", [0, 1])
def test_slurm_arrays_starting_at_0_or_1_give_1_to_n(env, first):
    shards = []
    for task in range(first, first + 8):  # --array=0-7 or --array=1-8
        slurm(env, task, first, first + 7, 8)
        shards.append(auto())
    assert shards == [Shard(i, 8) for i in range(1, 9)]
    assert [str(s) for s in shards] == [f"{i}/8" for i in range(1, 9)]


def test_a_stepped_slurm_array_numbers_its_ids_in_order(env):
    # --array=0-15:4: ids 0, 4, 8, 12
    found = {}
    for task in (0, 4, 8, 12):
        slurm(env, task, 0, 12, 4, step=4)
        found[task] = auto()
    assert found == {0: Shard(1, 4), 4: Shard(2, 4), 8: Shard(3, 4), 12: Shard(4, 4)}
    assert found[8].source == "Slurm job array 0-12:4: SLURM_ARRAY_TASK_ID=8"


def test_without_a_step_variable_a_slurm_array_must_be_contiguous(env):
    env(SLURM_ARRAY_TASK_ID=5, SLURM_ARRAY_TASK_MIN=3, SLURM_ARRAY_TASK_MAX=6, SLURM_ARRAY_TASK_COUNT=4)
    assert auto() == Shard(3, 4)
    env(SLURM_ARRAY_TASK_MAX=9)
    with pytest.raises(DittoError, match="not evenly spaced"):
        auto()


@pytest.mark.parametrize("task", [1, 3, 7])
def test_an_unevenly_spaced_slurm_array_is_refused_on_every_task(env, task):
    """--array=1,3,7: three tasks, ids 1 to 7 with no common step; task 1 and 7 too must stop,
    or shards 1/3 and 3/3 would run while 2/3 never does."""
    slurm(env, task, 1, 7, 3, step=1)
    with pytest.raises(DittoError) as refused:
        auto()
    message = str(refused.value)
    assert message.startswith("--shard auto: the Slurm job array's ids are not evenly spaced (")
    assert "SLURM_ARRAY_TASK_COUNT=3" in message and "SLURM_ARRAY_TASK_MAX=7" in message
    assert message.endswith("submit a range, --array=0-2, or give --shard i/N by hand")
    assert "\n" not in message


def test_a_task_off_the_step_is_refused(env):
    slurm(env, 5, 0, 12, 4, step=4)
    with pytest.raises(DittoError, match="not evenly spaced"):
        auto()


def test_kubernetes_index_and_completions(env):
    shards = []
    for index in range(8):
        env(JOB_COMPLETION_INDEX=index, JOB_COMPLETIONS=8)
        shards.append(auto())
    assert shards == [Shard(i, 8) for i in range(1, 9)]
    assert shards[2].source == "Kubernetes Indexed Job: JOB_COMPLETION_INDEX=2, JOB_COMPLETIONS=8"


def test_kubernetes_index_without_completions_is_refused(env):
    env(JOB_COMPLETION_INDEX=0)
    with pytest.raises(DittoError) as refused:
        auto()
    assert str(refused.value) == (
        "--shard auto: JOB_COMPLETION_INDEX is set but JOB_COMPLETIONS is not (Kubernetes does not pass the count): "
        "set JOB_COMPLETIONS in the Job's container env to its .spec.completions")


def test_completions_without_an_index_asks_for_an_indexed_job(env):
    env(JOB_COMPLETIONS=8)
    with pytest.raises(DittoError, match="JOB_COMPLETIONS is set but JOB_COMPLETION_INDEX is not: give the Job "
                                         "completionMode: Indexed"):
        auto()


def test_neither_scheduler_is_one_clear_line(env):
    with pytest.raises(DittoError) as refused:
        auto()
    assert str(refused.value) == NEITHER
    env(SLURM_ARRAY_TASK_ID="", JOB_COMPLETION_INDEX=" ")  # set but empty: as not set
    with pytest.raises(DittoError, match="no scheduler's shard variables are set"):
        auto()


@pytest.mark.parametrize("variables, message", [
    (dict(SLURM_ARRAY_TASK_ID="x", SLURM_ARRAY_TASK_MIN=0, SLURM_ARRAY_TASK_MAX=7, SLURM_ARRAY_TASK_COUNT=8),
     "--shard auto: SLURM_ARRAY_TASK_ID='x' is not a whole number >= 0"),
    (dict(SLURM_ARRAY_TASK_ID=2, SLURM_ARRAY_TASK_MIN=0, SLURM_ARRAY_TASK_MAX=7, SLURM_ARRAY_TASK_COUNT="8.0"),
     "--shard auto: SLURM_ARRAY_TASK_COUNT='8.0' is not a whole number >= 0"),
    (dict(SLURM_ARRAY_TASK_ID=2, SLURM_ARRAY_TASK_MIN=-1, SLURM_ARRAY_TASK_MAX=7, SLURM_ARRAY_TASK_COUNT=8),
     "--shard auto: SLURM_ARRAY_TASK_MIN='-1' is not a whole number >= 0"),
    (dict(SLURM_ARRAY_TASK_ID=9, SLURM_ARRAY_TASK_MIN=0, SLURM_ARRAY_TASK_MAX=7, SLURM_ARRAY_TASK_COUNT=8),
     "--shard auto: SLURM_ARRAY_TASK_ID=9 is out of range (SLURM_ARRAY_TASK_MIN=0 to SLURM_ARRAY_TASK_MAX=7)"),
    (dict(SLURM_ARRAY_TASK_ID=0, SLURM_ARRAY_TASK_MIN=0, SLURM_ARRAY_TASK_MAX=0, SLURM_ARRAY_TASK_COUNT=0),
     "--shard auto: SLURM_ARRAY_TASK_COUNT=0 is out of range (expected >= 1)"),
    (dict(SLURM_ARRAY_TASK_ID=0, SLURM_ARRAY_TASK_MIN=0, SLURM_ARRAY_TASK_MAX=7, SLURM_ARRAY_TASK_COUNT=8,
          SLURM_ARRAY_TASK_STEP=0),
     "--shard auto: SLURM_ARRAY_TASK_STEP=0 is out of range (expected >= 1)"),
    (dict(SLURM_ARRAY_TASK_ID=3),
     "--shard auto: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not; give --shard i/N"),
    (dict(JOB_COMPLETION_INDEX="two", JOB_COMPLETIONS=8),
     "--shard auto: JOB_COMPLETION_INDEX='two' is not a whole number >= 0"),
    (dict(JOB_COMPLETION_INDEX=1, JOB_COMPLETIONS="eight"),
     "--shard auto: JOB_COMPLETIONS='eight' is not a whole number >= 0"),
    (dict(JOB_COMPLETION_INDEX=8, JOB_COMPLETIONS=8),
     "--shard auto: JOB_COMPLETION_INDEX=8 is out of range for JOB_COMPLETIONS=8 (expected 0 to 7); "
     "is JOB_COMPLETIONS the Job's .spec.completions?"),
    (dict(JOB_COMPLETION_INDEX=0, JOB_COMPLETIONS=0),
     "--shard auto: JOB_COMPLETIONS=0 is out of range (expected >= 1)"),
])
def test_bad_values_are_one_line_naming_the_variable_and_its_value(env, variables, message):
    env(**variables)
    with pytest.raises(DittoError) as refused:
        auto()
    assert str(refused.value) == message


def test_slurm_wins_when_both_schedulers_variables_are_set(env):
    """sbatch copies the submitting shell's environment into every task: an array submitted
    from a Kubernetes pod carries that pod's index, which is not this task's."""
    env(JOB_COMPLETION_INDEX=0, JOB_COMPLETIONS=2)
    slurm(env, 5, 1, 8, 8)
    shard = auto()
    assert shard == Shard(5, 8)
    assert shard.source == "Slurm job array 1-8: SLURM_ARRAY_TASK_ID=5; JOB_COMPLETION_INDEX ignored"
    slurm(env, 9, 1, 8, 8)  # and Slurm's errors are reported, not hidden by a fallback
    with pytest.raises(DittoError, match="SLURM_ARRAY_TASK_ID=9 is out of range"):
        auto()


def test_auto_shards_partition_the_keys_exactly_as_explicit_ones(env):
    keys = [f"Q{i}@en" for i in range(2000)]
    for first, step, count in ((0, 1, 5), (1, 1, 5), (3, 10, 5)):
        owners = {key: [] for key in keys}
        for task in range(first, first + step * count, step):
            slurm(env, task, first, first + step * (count - 1), count, step)
            shard = auto()
            explicit = Shard((task - first) // step + 1, count)
            assert shard == explicit and hash(shard) == hash(explicit) and str(shard) == str(explicit)
            assert shard.select(keys, str) == explicit.select(keys, str)
            for key in shard.select(keys, str):
                owners[key].append(task)
        assert all(len(tasks) == 1 for tasks in owners.values())
        assert {tasks[0] for tasks in owners.values()} == set(range(first, first + step * count, step))


def test_parse_reports_where_the_shard_came_from(env, capsys):
    env(JOB_COMPLETION_INDEX=1, JOB_COMPLETIONS=3)
    assert Shard.parse(" AUTO ") == Shard(2, 3)
    assert capsys.readouterr().err == (
        "--shard auto: shard 2/3 (Kubernetes Indexed Job: JOB_COMPLETION_INDEX=1, JOB_COMPLETIONS=3)\n")
    assert Shard.parse("2/3").source is None


def eval_run(*args: str):
    return ditto_in_process("eval", "run", *args)


def test_eval_run_with_shard_auto_is_the_explicit_shard_and_refuses_without_a_scheduler(env, tmp_path):
    items = [dict(TOP_LEVEL_STYLE, id=f"q{i}", prompts=["你好？"] * (1 + i % 3), ref_messages=[],
                  rejection_labels=[], evidence=[]) for i in range(12)]
    eval_file = write_lines(tmp_path / "eval.jsonl", *items)
    common = ["--eval", str(eval_file), "--out", str(tmp_path / "run"), "--max-tokens", "50", "--dry-run"]
    whole = eval_run(*common)
    assert whole.returncode == 0, whole.stderr
    outputs = []
    for task in (1, 2, 3):  # sbatch --array=1-3
        slurm(env, task, 1, 3, 3)
        automatic = eval_run(*common, "--shard", "auto")
        explicit = eval_run(*common, "--shard", f"{task}/3")
        assert automatic.returncode == explicit.returncode == 0, automatic.stderr
        assert automatic.stdout == explicit.stdout
        assert automatic.stderr.startswith(f"--shard auto: shard {task}/3 (Slurm job array 1-3: "
                                           f"SLURM_ARRAY_TASK_ID={task})\n")
        outputs.append(automatic.stdout)
    assert len(set(outputs)) == 3 and whole.stdout not in outputs  # three different shares, none the whole

    for name in SHARD_VARIABLES:
        env(**{name: ""})
    refused = eval_run(*common, "--shard", "auto")
    assert refused.returncode == 2
    assert refused.stderr == f"error: {NEITHER}\n" and refused.stdout == ""
    assert not (tmp_path / "run").exists()


def test_a_study_takes_shard_auto_as_its_i_n(env, tmp_path):
    """`ditto study` hands the shard on as a value: its refusal names the i/N, not 'auto'."""
    env(JOB_COMPLETION_INDEX=1, JOB_COMPLETIONS=2)
    result = ditto_in_process("study", "pool-size", "--shard", "auto", "--out", str(tmp_path / "s"), "--dry-run")
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].startswith(
        "error: --shard 2/2: every machine must test on the same eval set"), result.stderr
