"""What each study plans, before any model runs: its cells, the steps they share, the shards
and the dry run, on the builtin character pool."""

from __future__ import annotations

import os
import subprocess
import sys
from fractions import Fraction

import pytest

from ditto.errors import DittoError
from ditto.pipeline import RunConfig
from ditto.shard import Shard
from ditto.study import ablation, cross_supervision, pool_size, query_quality
from ditto.study.config import StudyConfig
from ditto.study.models import ModelRef
from ditto.study.run import study_steps
from ditto.study.runner import StudyContext

BUILTIN = ModelRef("builtin")
SERVED = ModelRef("builtin", "http://127.0.0.1:9/v1")


def make_context(tmp_path, shard=None, judge=None, **settings) -> StudyContext:
    values = {"train_characters": 8, "eval_characters": 2, "langs": ("en",)} | settings
    run = RunConfig(out=tmp_path, model="builtin", **values)
    config = StudyConfig.create(tmp_path, run, first_seed=BUILTIN, judge=judge, eval_teacher=None,
                                default_writer=BUILTIN, shard=shard)
    return StudyContext(config)


def test_model_references_keep_names_with_at_signs_and_urls_apart():
    assert ModelRef.parse("builtin", "--seed-model") == ModelRef("builtin")
    assert ModelRef.parse("Qwen/Qwen2-7B@http://gpu1:8000/v1", "--x") == ModelRef("Qwen/Qwen2-7B", "http://gpu1:8000/v1")
    assert ModelRef.parse("llama3@latest@https://h/v1", "--x") == ModelRef("llama3@latest", "https://h/v1")
    assert ModelRef.parse("user@host-model", "--x") == ModelRef("user@host-model")
    with pytest.raises(DittoError, match="--supervisor @http://h/v1: expected MODEL"):
        ModelRef.parse("@http://h/v1", "--supervisor")
    assert ModelRef("a/b").slug != ModelRef("a_b").slug, "two names one slug apart must not share a folder"


def test_cross_supervision_has_every_seed_on_every_supervisor_and_shares_each_simulation(tmp_path):
    context = make_context(tmp_path)
    tuned = ModelRef(str(tmp_path / "tuned"))
    cells = cross_supervision.plan(context, [BUILTIN, tuned], [SERVED, tuned])
    roles = [cell.role for cell in cells]
    assert roles.count("seed") == 2 and roles.count("supervision") == 2 and roles.count("imitation") == 4
    assert all(cell.evaluation.with_profile for cell in cells if cell.role == "supervision")
    pairs = {(c.label("seed"), c.label("supervisor")) for c in cells if c.role == "imitation"}
    assert len(pairs) == 4
    simulations, trainings, evaluations = study_steps(cross_supervision.study_plan(context, [BUILTIN, tuned],
                                                                                   [SERVED, tuned]))
    assert len(simulations) == 2, "one simulation per supervisor, shared by every seed"
    assert len(trainings) == 4 and len(evaluations) == 8
    assert {s.writer for s in simulations} == {BUILTIN, tuned}
    train_ids = frozenset(context.train_ids)
    assert all(s.config.character_ids == train_ids for s in simulations), "each supervisor: the same characters"
    assert not train_ids & {p.id for p in context.eval_pool}


def test_steps_are_named_by_what_decides_them(tmp_path):
    context = make_context(tmp_path)
    same = make_context(tmp_path)
    assert context.simulation(BUILTIN).folder == same.simulation(BUILTIN).folder
    assert context.simulation(BUILTIN).folder != context.simulation(SERVED).folder
    assert context.simulation(BUILTIN).folder != context.simulation(BUILTIN, queries_per_pair=1).folder
    other_judge = make_context(tmp_path, judge=SERVED)
    assert context.evaluation(BUILTIN).folder != other_judge.evaluation(BUILTIN).folder, "another judge, another run"
    longer = make_context(tmp_path, train_steps=3)
    data = pool_size.TrainingData(context.simulation(BUILTIN), "all")
    assert context.training(BUILTIN, data).folder != longer.training(BUILTIN, data).folder


def test_studies_in_one_folder_share_the_steps_they_have_in_common(tmp_path):
    """The seed before training, the teacher's simulation, and the seed trained on all of it are
    one folder each for pool-size, query-quality, ablation and cross-supervision."""
    context = make_context(tmp_path)
    plans = [
        cross_supervision.study_plan(context, [BUILTIN], [BUILTIN]),
        pool_size.study_plan(context, BUILTIN, BUILTIN),
        query_quality.study_plan(context, BUILTIN, BUILTIN, 10),
        ablation.study_plan(context, "queries", ("1", "3"), BUILTIN, BUILTIN),
    ]
    steps = [study_steps(plan) for plan in plans]
    base = context.simulation(BUILTIN).folder
    for simulations, _, _ in steps:
        assert base in {s.folder for s in simulations}
    tuned_on_all = [{e.folder for e in evaluations if not e.with_profile and hasattr(e.model, "data")
                     and not e.model.data.filtered and e.model.data.simulation.folder == base}
                    for _, _, evaluations in steps]
    assert all(len(found) == 1 for found in tuned_on_all) and len(set.union(*tuned_on_all)) == 1


def test_pool_size_pools_are_nested_and_the_diversity_pools_equal_in_size(tmp_path):
    context = make_context(tmp_path)
    cells = pool_size.plan(context, BUILTIN, BUILTIN, pool_size.parse_fractions("1/8,1/4,1/2,1"))
    nested = [c for c in cells if c.label("pool") == "nested"]
    pools = [c.evaluation.model.data.characters for c in nested]
    sizes = [int(c.label("characters")) for c in nested]
    assert sizes == [1, 2, 4, 8]
    assert pools[-1] is None, "all the characters: the simulation's own file"
    assert pools[0] < pools[1] < pools[2] and pools[2] < frozenset(context.train_ids)
    category = {p.id: p.category for p in context.train_pool}
    diverse = {c.label("pool"): c.evaluation.model.data.characters for c in cells
               if c.label("pool") in pool_size.DIVERSITY}
    assert len({len(ids) for ids in diverse.values()}) == 1
    assert {category[i] for i in diverse["humans only"]} == {"human"}
    assert {category[i] for i in diverse["fictional only"]} == {"fictional"}
    assert pool_size.parse_fractions(" 1/2 ,1") == (Fraction(1, 2), Fraction(1))
    for bad in ("0", "3/2", "x", ""):
        with pytest.raises(DittoError, match="--fractions"):
            pool_size.parse_fractions(bad)


def test_ablation_values_set_the_simulation(tmp_path):
    context = make_context(tmp_path)
    cells = ablation.plan(context, "profile", tuple(ablation.PROFILE_VARIANTS), BUILTIN, BUILTIN)
    configs = {c.label("profile"): c.evaluation.model.data.simulation.config for c in cells if c.role == "imitation"}
    assert configs["facts only"].summary_tokens == 0 and configs["facts only"].with_claims
    assert not configs["introduction only"].with_claims and configs["introduction only"].summary_tokens > 0
    assert configs["with the article"].with_article
    assert configs["facts and introduction"] == context.simulation(BUILTIN).config, "the default is the shared one"
    shares = [c.evaluation.model.data.simulation.config.contrastive_share
              for c in ablation.plan(context, "contrastive", ("0", "0.4", "0.8"), BUILTIN, BUILTIN)[1:]]
    assert shares == [0.0, 0.4, 0.8]
    with pytest.raises(DittoError, match="--values x: expected a number for --vary queries"):
        ablation.plan(context, "queries", ("x",), BUILTIN, BUILTIN)


def test_shards_split_the_cells_without_overlap(tmp_path):
    context = make_context(tmp_path)
    cells = cross_supervision.plan(context, [BUILTIN, SERVED], [BUILTIN, SERVED])
    owners = [[c.key for c in cells if Shard(i, 3).owns(c.key)] for i in (1, 2, 3)]
    assert sorted(sum(owners, [])) == sorted(c.key for c in cells)


def test_a_shard_without_a_fixed_eval_set_is_refused(tmp_path):
    with pytest.raises(DittoError, match="--shard 1/2: every machine must test on the same eval set"):
        make_context(tmp_path, shard=Shard(1, 2))


def ditto(*args):
    env = {**os.environ, "COLUMNS": "250"}  # the dry run's tables, unwrapped
    return subprocess.run([sys.executable, "-m", "ditto", *args], capture_output=True, text=True, timeout=300, env=env)


def test_dry_run_lists_the_cells_their_steps_and_the_cost_and_writes_nothing(tmp_path):
    out = tmp_path / "study"
    result = ditto("study", "cross-supervision", "--supervisor", "builtin", "--supervisor", "other@http://127.0.0.1:9/v1",
                   "--seed-model", "builtin", "--out", str(out), "--lang", "en", "--dry-run")
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "study cross-supervision: 5 cells" in text  # 1 seed before training, 2 supervisions, 2 imitations
    assert text.count("(to make)") >= 4
    assert "dry run: nothing sent, nothing written" in text
    for stage in ("eval set by builtin queries", "models/builtin-", "rollout", "judge"):
        assert stage in text
    assert "warning: the judge is a model under test itself" in result.stderr
    assert not out.exists()


@pytest.mark.parametrize("args, message", [
    (["ablation", "--vary", "size"], "error: --vary size: expected one of profile, queries, contrastive"),
    (["pool-size", "--fractions", "2"], "error: --fractions 2: expected fractions"),
    (["cross-supervision", "--supervisor", "@http://x/v1", "--seed-model", "builtin"], "error: --supervisor"),
    (["pool-size", "--shard", "1/2"], "error: --shard 1/2: every machine must test on the same eval set"),
])
def test_bad_options_are_one_line_and_exit_2(tmp_path, args, message):
    result = ditto("study", *args, "--out", str(tmp_path / "s"), "--dry-run")
    assert result.returncode == 2
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1, result.stderr


def test_the_cells_table_lists_unfinished_cells_as_waiting(tmp_path):
    from ditto.study.document import cells_table

    context = make_context(tmp_path)
    cells = query_quality.plan(context, BUILTIN, BUILTIN)[0]
    table = cells_table(cells, {})
    assert [row[0] for row in table.rows] == ["seed", "imitation", "imitation"]
    assert all("not run yet" in row for row in table.rows)
    assert table.header[:2] == ["role", "data"]


def test_a_model_the_study_trained_is_evaluated_as_its_training_when_named_again(tmp_path):
    """The builtin model after its own Ditto fine-tuning, named as a seed model by its folder,
    is the same evaluation as the training that made it: one folder, asked once."""
    from ditto.study.runner import mark_done

    context = make_context(tmp_path)
    training = context.training(BUILTIN, pool_size.TrainingData(context.simulation(BUILTIN), "all"))
    folder = tmp_path / training.folder
    named = ModelRef(str(folder))
    folder.mkdir(parents=True)
    assert context.evaluation(named).folder != context.evaluation(training).folder, "not trained yet: a model"
    mark_done(folder, training.spec())
    assert context.evaluation(named).folder == context.evaluation(training).folder
    assert context.evaluation(named, with_profile=True).folder != context.evaluation(training).folder
