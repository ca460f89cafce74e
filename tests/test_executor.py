"""Executors of the reproduce units: sharding, dependency order, and the same results from
the local executor, shards plus an assembling run, and Ray."""

import csv
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from semjscc.checkpoint import load_checkpoint
from semjscc.cli import main
from semjscc.errors import ConfigError
from semjscc.experiments.executor import LocalExecutor, RayExecutor, Shard, Unit, build_executor
from semjscc.registry import EXECUTORS

# the micro reproduction of test_reproduce without judges and separation: DHD, the shared
# base, 4 DF models (mse+dhd needs the DHD, r = 0 fine-tunes the base, r = 1 warm-starts
# from r = 0), 2 codebook fits (need r = 0), the evaluations of the 4 models and 2 codebook sets
MICRO = [
    "data.image_size=16", "data.num_images={train: 64, val: 16, test: 16, db: 32}",
    "model.num_features=8", "model.bandwidth_ratio=1/6", "train.epochs=1",
    "train.epoch_images=null", "train.batch_size=16", "train.eval_batch_size=16",
    "train.device=cpu", "dhd.width=8", "dhd.num_bits=16", "dhd.epochs=1", "dhd.batch_size=16",
    "sweep.relays=[0, 1]", "sweep.snr_db=[0, -5]", "sweep.base_set=[train.epochs=1]",
    "sweep.base_finetune_set=[]", "sweep.qf=['2:1', '2:2']",
    "sweep.qf_max_blocks=1000", "sweep.separation=[]", "judges.dhd_seed=null",
    "judges.dhd_backbone=null", "judges.classifier=false",
]


def _args(out: Path, *extra: str) -> list[str]:
    sets = [a for o in MICRO for a in ("--set", o)]
    return ["reproduce", "--preset", "tiny", "--out", str(out), *sets, *extra]


def _fake_units(log: list[str], done: set[str]) -> list[Unit]:
    def unit(key: str, needs: tuple[str, ...] = (), group: str | None = None) -> Unit:
        return Unit(key, key, lambda state: (log.append(key), done.add(key)),
                    lambda: "done" if key in done else "new", needs=needs, group=group)
    return [unit("dhd"), unit("a0", ("dhd",)), unit("b0"), unit("a1", ("a0",), "a0"),
            unit("qa", ("a0",), "a0"), unit("b1", ("b0",), "b0")]


def test_shard_parse_and_round_robin_groups():
    assert Shard.parse("2/3") == Shard(2, 3) and str(Shard(2, 3)) == "2/3"
    for bad in ("3/2", "0/2", "1/0", "x", "1/2/3", "-1/2"):
        with pytest.raises(ConfigError, match="shard"):
            Shard.parse(bad)
    units = _fake_units([], set())
    keys = [[u.key for u in Shard(i, 2).select(units)] for i in (1, 2)]
    # groups in order: dhd, a0 (+ a1, qa), b0 (+ b1) -> shard 1: dhd, b0; shard 2: a0
    assert keys == [["dhd", "b0", "b1"], ["a0", "a1", "qa"]]
    assert sorted(keys[0] + keys[1]) == sorted(u.key for u in units)


def test_local_executor_runs_in_order_skips_done_and_leaves_other_shards_needs():
    log: list[str] = []
    done = {"b0"}
    assert LocalExecutor().run(_fake_units(log, done)) == []
    assert log == ["dhd", "a0", "a1", "qa", "b1"]

    log, done = [], set()
    waiting = LocalExecutor(Shard(2, 2)).run(_fake_units(log, done))
    assert log == [] and [u.key for u in waiting] == ["a0", "a1", "qa"]  # dhd is shard 1's
    LocalExecutor(Shard(1, 2)).run(_fake_units(log, done))
    LocalExecutor(Shard(2, 2)).run(_fake_units(log, done))
    assert log == ["dhd", "b0", "b1", "a0", "a1", "qa"]


def test_units_out_of_order_and_bad_executor_options_are_refused():
    units = _fake_units([], set())
    with pytest.raises(ValueError, match="comes after it"):
        LocalExecutor().run(units[::-1])
    with pytest.raises(ConfigError, match="--executor ray"):
        build_executor("local", address="127.0.0.1:6379")
    with pytest.raises(ConfigError, match="unknown executor"):
        build_executor("bogus")
    assert EXECUTORS.get("ray") is RayExecutor and EXECUTORS.get("local") is LocalExecutor


def _outputs(out: Path) -> dict[str, object]:
    """results.csv (with the output directory as ``OUT``), every checkpoint's weights and
    every codebook of a reproduction."""
    text = (out / "results.csv").read_text().replace(str(out), "OUT")
    got: dict[str, object] = {"results": list(csv.reader(text.splitlines()))}
    for path in sorted(out.rglob("best.pt")):
        got[str(path.relative_to(out))] = load_checkpoint(path)["model"]
    for path in sorted(out.rglob("*.safetensors")):
        got[str(path.relative_to(out))] = load_file(path)
    return got


def _assert_same(a: dict[str, object], b: dict[str, object]) -> None:
    assert a.keys() == b.keys()
    assert a["results"] == b["results"]
    for key, tensors in a.items():
        if key != "results":
            assert tensors.keys() == b[key].keys(), key
            assert all(torch.equal(t, b[key][k]) for k, t in tensors.items()), key


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "out"
    assert main(_args(out)) == 0
    return _outputs(out)


@pytest.mark.slow
def test_shards_then_assembling_run_equal_the_local_run(local_run, tmp_path, sharded_run):
    out = tmp_path / "out"
    log = sharded_run(_args(out), out)
    # DHD, base, 4 DF models, 2 codebook fits, their 6 evaluations: all done by the shards
    assert log.count("finished, skipped") == 14
    _assert_same(_outputs(out), local_run)


@pytest.mark.slow
def test_ray_executor_gives_bit_identical_results(local_run, tmp_path, local_ray):
    out = tmp_path / "out"
    assert main(_args(out, "--executor", "ray")) == 0
    _assert_same(_outputs(out), local_run)


def test_eo_training_units_are_the_classifier_and_every_djscc(tmp_path):
    from semjscc.config import load_config
    from semjscc.experiments.eo.evaluate import training_units
    from semjscc.experiments.eo.plan import build_plan as make_plan

    cfg = load_config("eo-tiny/reproduce", ["eo.snr_adaptive=false", "eo.snr_db=[0, 10]",
                                            "eo.ratios=[1/20]"])
    units = training_units(make_plan(cfg, tmp_path))
    assert units[0].key == "task" and len(units) == 1 + 2 * len(cfg.eo.channels)
    assert all(not u.needs and u.state() == "new" for u in units)
    assert [len(Shard(i, 2).select(units)) for i in (1, 2)] == [(len(units) + 1) // 2,
                                                               len(units) // 2]


def test_eo_evaluations_are_units_after_what_they_read(tmp_path):
    from semjscc.config import load_config
    from semjscc.experiments.eo.evaluate import evaluation_units, training_units
    from semjscc.experiments.eo.plan import build_plan as make_plan
    from semjscc.experiments.executor import _ordered

    cfg = load_config("eo-tiny/reproduce", ["eo.snr_adaptive=false", "eo.snr_db=[0, 10]",
                                            "eo.ratios=[1/20]", "eo.channels=[{name: awgn}]",
                                            "eo.separation=[webp]"])
    plan = make_plan(cfg, tmp_path)
    units, caches = evaluation_units(plan, torch.device("cpu"))
    by_key = {u.key: u for u in units}
    assert list(by_key) == [
        "eval/clean",
        "matched/awgn/cr1_20_snr0", "eval/djscc/awgn/cr1_20_snr0",
        "matched/awgn/cr1_20_snr10", "eval/djscc/awgn/cr1_20_snr10",
        "eval/separation/awgn/webp_cr1_20", "eval/digital/awgn/webp_mcsadaptive_cr1_20"]
    assert by_key["eval/clean"].needs == ("task",)
    assert by_key["matched/awgn/cr1_20_snr10"].needs == ("task", "djscc/awgn/cr1_20_snr10")
    assert by_key["eval/djscc/awgn/cr1_20_snr10"].needs == (
        "task", "eval/clean", "djscc/awgn/cr1_20_snr10", "matched/awgn/cr1_20_snr10")
    assert by_key["eval/separation/awgn/webp_cr1_20"].needs == ("task", "eval/clean")
    assert by_key["eval/digital/awgn/webp_mcsadaptive_cr1_20"].needs == ("task", "eval/clean")
    assert [c.relative_to(tmp_path).as_posix() for c in caches] == [
        "eval/djscc/awgn/cr1_20_snr0.csv", "eval/djscc/awgn/cr1_20_snr10.csv",
        "eval/separation/awgn/webp_cr1_20.csv", "eval/digital/awgn/webp_mcsadaptive_cr1_20.csv"]
    _ordered(training_units(plan) + units)  # every need comes first
    assert all(u.state() == "new" for u in units)


def test_importance_evaluations_are_units_after_what_they_read(tmp_path):
    from semjscc.config import load_config
    from semjscc.experiments.executor import _ordered
    from semjscc.experiments.importance.evaluate import evaluation_units, training_units
    from semjscc.experiments.importance.plan import build_plan as make_plan

    cfg = load_config("importance-tiny/reproduce", [
        "importance.methods=[{mse: 1.0}]", "importance.ratios=[1/12]",
        "importance.train_snr_db=[5]", "importance.separation=[webp]", "sweep.seeds=[]"])
    plan = make_plan(cfg, tmp_path)
    units, caches = evaluation_units(plan, torch.device("cpu"))
    assert [(u.key, u.needs) for u in units] == [
        ("eval/djscc/mse/cr1_12_snr5", ("task", "independent", "djscc/mse/cr1_12_snr5")),
        ("eval/separation/webp_cr1_12", ("task", "independent")),
        ("eval/digital/webp_cr1_12", ("task", "independent"))]
    assert [c.relative_to(tmp_path).as_posix() for c in caches] == [
        "eval/djscc/mse/cr1_12_snr5.csv", "eval/separation/webp_cr1_12.csv",
        "eval/digital/webp_cr1_12.csv"]
    _ordered(training_units(plan) + units)
