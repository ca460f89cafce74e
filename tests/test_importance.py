"""Semantic-importance DJSCC (seed 002): importance weights on toy networks with
closed-form gradients (a linear one, and a non-linear one whose gradient depends on the
image), the loss terms and their variants, the config checks, the CIFAR-10 loader on
generated batch files, and ``reproduce --preset importance-tiny`` on micro
settings."""

from __future__ import annotations

import csv
import dataclasses
import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from semjscc.checkpoint import save_checkpoint
from semjscc.cli import main
from semjscc.config import Config, ConfigError, TaskConfig, load_config, to_dict
from semjscc.data import DataError, build_dataset
from semjscc.data.cifar10 import URL
from semjscc.evaluation.results import read_results
from semjscc.experiments.importance.evaluate import mark_served, training_units
from semjscc.experiments.importance.plan import IMPORTANCE_COLUMNS, build_plan
from semjscc.losses import FeatureImportanceTerm, PixelImportanceTerm, build_loss
from semjscc.losses.importance import (
    channel_weights,
    element_weights,
    importance_gradients,
    pixel_weights,
)
from semjscc.models import Classifier, create_classifier

# Head weights of the toy network, one row per class over its K = 3 feature channels.
HEAD = torch.tensor([[2.0, 0.5, -1.0],
                     [-1.0, 1.0, 3.0]])


class LinearHead(nn.Module):
    """A = ``features(x)`` = x (K = 3 channels, U×V = H×W), y = HEAD · mean_{u,v} A: so
    ∂y^c/∂A_{k,u,v} = HEAD[c, k] / (U·V) and α_k = HEAD[c, k] / (U·V)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Identity()
        self.head = nn.Linear(3, 2, bias=False)
        self.head.weight.data.copy_(HEAD)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean((2, 3)))


def toy() -> Classifier:
    return Classifier(LinearHead(), 2, normalize="none", feature_layers=("features",))


def one_hot(classes: list[int], n: int = 2) -> torch.Tensor:
    return torch.eye(n)[classes]


def floored(w: torch.Tensor, beta: float) -> torch.Tensor:
    return (1 - beta) * w + beta / w.shape[-1]


# -------------------------------------------------------------------------- the weights


def test_gradients_match_the_closed_form() -> None:
    x = torch.rand(2, 3, 4, 5)
    features, grads, input_grads = importance_gradients(toy(), x, ["features"], one_hot([0, 1]))
    assert torch.equal(features["features"], x)
    for b, c in enumerate([0, 1]):
        expected = (HEAD[c] / 20).view(3, 1, 1).expand(3, 4, 5)
        torch.testing.assert_close(grads["features"][b], expected)
        torch.testing.assert_close(input_grads[b], expected)  # A = x here
    assert not grads["features"].requires_grad and not features["features"].requires_grad
    # target=predicted uses T's class on the clean image
    predicted = toy()(x).argmax(1)
    _, by_prediction, _ = importance_gradients(toy(), x, ["features"], None, "predicted")
    torch.testing.assert_close(by_prediction["features"][:, :, 0, 0], HEAD[predicted] / 20)


@pytest.mark.parametrize("normalisation", ["relu", "abs", "softmax"])
def test_channel_weight_normalisations(normalisation: str) -> None:
    grads = (HEAD / 20).view(2, 3, 1, 1).expand(2, 3, 4, 5)
    alpha = HEAD / 20
    w = channel_weights(grads, normalisation, floor=0.1, temperature=0.5)
    if normalisation == "relu":
        raw = alpha.clamp_min(0) / alpha.clamp_min(0).sum(1, keepdim=True)
    elif normalisation == "abs":
        raw = alpha.abs() / alpha.abs().sum(1, keepdim=True)
    else:
        raw = torch.softmax(alpha / (0.5 * alpha.abs().mean(1, keepdim=True)), 1)
    torch.testing.assert_close(w, floored(raw, 0.1))
    torch.testing.assert_close(w.sum(1), torch.ones(2))
    assert (w >= 0.1 / 3 - 1e-7).all()  # the floor: no channel gets zero weight


def test_relu_weights_of_negative_gradients_are_uniform() -> None:
    grads = -torch.rand(1, 4, 2, 2)
    torch.testing.assert_close(channel_weights(grads, "relu", floor=0.0), torch.full((1, 4), 0.25))
    with pytest.raises(ConfigError, match="relu, abs, softmax"):
        channel_weights(grads, "max")


def test_element_weights_sum_to_one_and_follow_the_gradient() -> None:
    grads = torch.randn(2, 3, 4, 4)
    w = element_weights(grads, floor=0.2)
    torch.testing.assert_close(w.flatten(1).sum(1), torch.ones(2))
    raw = grads.abs() / grads.abs().flatten(1).sum(1).view(2, 1, 1, 1)
    torch.testing.assert_close(w, 0.8 * raw + 0.2 / 48)


def test_pixel_weights_have_mean_one() -> None:
    net = create_classifier(TaskConfig(model="convnet-tiny", width=4), 3).eval()
    x, labels = torch.rand(2, 3, 16, 16), torch.eye(3)[[0, 2]]
    _, _, input_grads = importance_gradients(net, x, [], labels)
    s = pixel_weights(input_grads, floor=0.1)
    assert s.shape == (2, 1, 16, 16)
    torch.testing.assert_close(s.mean((1, 2, 3)), torch.ones(2))
    saliency = input_grads.abs().amax(1, keepdim=True)
    raw = saliency / saliency.mean((1, 2, 3), keepdim=True)
    torch.testing.assert_close(s, 0.9 * raw + 0.1)
    term = PixelImportanceTerm(net, floor=0.1)
    assert float(term(x, x, labels)) == 0.0
    x_hat = x + 0.1
    torch.testing.assert_close(term(x, x_hat, labels), (s * 0.01).mean(), rtol=1e-4, atol=0)


# ---------------------------------------------------------------------------- the loss


def test_loss_is_zero_at_x_and_weights_channel_errors() -> None:
    term = FeatureImportanceTerm(toy(), ["features"], floor=0.1)
    x, labels = torch.rand(1, 3, 4, 4), one_hot([0])
    assert float(term(x, x, labels)) == 0.0
    w = floored(HEAD[0].clamp_min(0) / HEAD[0].clamp_min(0).sum(), 0.1)  # channel 0 first
    gaps = []
    for delta in (0.05, 0.1, 0.2):
        losses = []
        for k in range(3):
            x_hat = x.clone()
            x_hat[:, k] += delta
            losses.append(float(term(x, x_hat, labels)))
        torch.testing.assert_close(torch.tensor(losses), w * delta**2, rtol=1e-4, atol=0)
        gaps.append(losses[0] - losses[2])
    # distorting the important channel costs more than distorting the unimportant one, and
    # the gap grows with the distortion
    assert 0 < gaps[0] < gaps[1] < gaps[2]


def test_unweighted_and_element_variants() -> None:
    x, labels = torch.rand(2, 3, 4, 4), one_hot([0, 1])
    x_hat = x + 0.1 * torch.randn_like(x)
    plain = FeatureImportanceTerm(toy(), ["features"], weighting="uniform")
    torch.testing.assert_close(plain(x, x_hat, labels), (x_hat - x).pow(2).mean())
    # the toy's element gradient is constant over (u, v): element = channel weights (abs)
    element = FeatureImportanceTerm(toy(), ["features"], weighting="element", floor=0.0)
    channel = FeatureImportanceTerm(toy(), ["features"], normalisation="abs", floor=0.0)
    torch.testing.assert_close(element(x, x_hat, labels), channel(x, x_hat, labels))


def test_gradients_reach_the_reconstruction_only() -> None:
    net = create_classifier(TaskConfig(model="resnet-tiny", width=4), 3, image_size=16)
    term = FeatureImportanceTerm(net, ["layer3", "layer4"], layer_weights=[0.25, 0.75])
    x, labels = torch.rand(2, 3, 16, 16), torch.eye(3)[[1, 2]]
    x_hat = (x + 0.1 * torch.randn_like(x)).requires_grad_(True)
    loss = term(x, x_hat, labels)
    loss.backward()
    assert x_hat.grad is not None and x_hat.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in net.parameters())
    parts = [FeatureImportanceTerm(net, [name])(x, x_hat.detach(), labels)
             for name in ("layer3", "layer4")]
    torch.testing.assert_close(loss.detach(), 0.25 * parts[0] + 0.75 * parts[1])


class SquareHead(LinearHead):
    """The non-linear toy: y = HEAD · mean_{u,v} A² with A = x, so ∂y^c/∂A_{k,u,v} =
    2·HEAD[c, k]·A_{k,u,v} / (U·V) depends on the image: weights taken at x̂ differ from
    weights taken at x."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).pow(2).mean((2, 3)))


def square_toy() -> Classifier:
    return Classifier(SquareHead(), 2, normalize="none", feature_layers=("features",))


def test_weights_are_taken_at_the_clean_image_on_a_non_linear_toy() -> None:
    """Every importance term weights its errors with T's gradients at x, never at x̂: the
    closed form at x is matched and the one at x̂ (which differs here by more than 30 %) is
    not; the errors themselves are symmetric, so the loss changes when x and x̂ swap."""
    g = torch.Generator().manual_seed(0)
    x = 0.2 + 0.6 * torch.rand(2, 3, 4, 4, generator=g)
    # channel 0 flips sign, channel 1 grows fourfold, channel 2 fades, the left half doubles
    # and the right half halves: gradients at x̂ have other signs and magnitudes than at x
    x_hat = (x * torch.tensor([-1.0, 4.0, 0.2]).view(1, 3, 1, 1)
             * torch.tensor([2.0, 2.0, 0.5, 0.5]).view(1, 1, 1, 4))
    labels = one_hot([0, 1])

    def grads_at(image: torch.Tensor) -> torch.Tensor:  # 2·HEAD[c, k]·A / (U·V)
        return 2 * HEAD[[0, 1]].view(2, 3, 1, 1) * image / 16

    _, grads, input_grads = importance_gradients(square_toy(), x, ["features"], labels)
    torch.testing.assert_close(grads["features"], grads_at(x))
    torch.testing.assert_close(input_grads, grads_at(x))
    error = (x_hat - x).pow(2)
    terms = {
        "channel": (FeatureImportanceTerm(square_toy(), ["features"], floor=0.1),
                    lambda w: (channel_weights(w, "relu", 0.1) * error.mean((2, 3))).sum(1)),
        "element": (FeatureImportanceTerm(square_toy(), ["features"], weighting="element"),
                    lambda w: (element_weights(w, 0.1) * error).flatten(1).sum(1)),
        "pixel": (PixelImportanceTerm(square_toy(), floor=0.1),
                  lambda w: (pixel_weights(w, 0.1) * error).mean((1, 2, 3))),
    }
    for name, (term, closed_form) in terms.items():
        at_x, at_x_hat = (closed_form(grads_at(image)).mean() for image in (x, x_hat))
        assert abs(at_x - at_x_hat) > 0.3 * at_x, name
        torch.testing.assert_close(term(x, x_hat, labels), at_x, rtol=1e-5, atol=0)
        torch.testing.assert_close(term(x_hat, x, labels), at_x_hat, rtol=1e-5, atol=0)


def test_term_arguments_are_checked() -> None:
    with pytest.raises(ConfigError, match="no layer 'layer9'"):
        FeatureImportanceTerm(toy(), ["layer9"])
    with pytest.raises(ConfigError, match="layer_weights has 1 values for 2 layers"):
        FeatureImportanceTerm(toy(), ["features", "head"], layer_weights=[1.0])
    with pytest.raises(ConfigError, match="importance.target"):
        FeatureImportanceTerm(toy(), ["features"], target="best")
    with pytest.raises(ConfigError, match="need labels"):
        FeatureImportanceTerm(toy(), ["features"])(torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 4))


# ------------------------------------------------------------------- registry and config


@pytest.fixture
def task_checkpoint(tmp_path: Path) -> Path:
    task = TaskConfig(model="resnet-tiny", width=4)
    model = create_classifier(task, 10, image_size=16)
    cfg = dataclasses.replace(Config(), task=task)
    return save_checkpoint({"kind": "classifier", "config": to_dict(cfg),
                            "model": model.state_dict(), "epoch": 1, "best_metric": 0.5,
                            "metrics": {}}, tmp_path / "best.pt")


@pytest.mark.parametrize("name, layers", [
    ("importance", ["layer4"]), ("unweighted", ["layer4"]), ("importance-element", ["layer4"]),
    ("importance-multilayer", ["layer2", "layer3", "layer4"]), ("pixel-importance", None)])
def test_registered_terms(task_checkpoint: Path, name: str, layers: list[str] | None) -> None:
    cfg = load_config(None, [f"train.loss={{{name}: 1.0, mse: 0.5}}",
                             f"task.checkpoint={task_checkpoint}"])
    objective = build_loss(cfg)
    assert objective.label == f"{name}+mse"
    assert getattr(objective.terms[name], "layers", None) == layers
    x, labels = torch.rand(2, 3, 16, 16), torch.eye(10)[[3, 7]]
    out = objective(x, x.clamp(0.1, 0.9), labels)
    torch.testing.assert_close(out["loss"], out[name] + 0.5 * out["mse"])


def test_term_options_and_errors(task_checkpoint: Path) -> None:
    loss = "{importance: {weight: 1, layers: layer3, floor: 0.5, normalization: softmax}}"
    cfg = load_config(None, [f"train.loss={loss}", f"task.checkpoint={task_checkpoint}",
                             "importance.temperature=2"])
    term = build_loss(cfg).terms["importance"]
    assert (term.layers, term.floor, term.normalisation, term.temperature) == \
        (["layer3"], 0.5, "softmax", 2.0)
    with pytest.raises(ConfigError, match="needs a trained task network: set task.checkpoint"):
        build_loss(load_config(None, ["train.loss={importance: 1}"]))
    with pytest.raises(ConfigError, match="has no option tau"):
        build_loss(load_config(None, ["train.loss={importance: {tau: 1}}"]))


@pytest.mark.parametrize("override, message", [
    ("importance.normalization=max", "importance.normalization='max' is not valid"),
    ("importance.floor=1.5", r"importance.floor=1.5 must lie in \[0, 1\]"),
    ("importance.temperature=0", r"importance.temperature=0(\.0)? must be a number > 0"),
    ("importance.target=best", "importance.target='best' is not valid"),
    ("importance.ratios=[2]", "a compression ratio must lie in"),
])
def test_bad_config_values_are_one_line_errors(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        load_config("importance-tiny/reproduce", [override])
    assert "\n" not in str(info.value)


def test_served_rows_are_the_nearest_train_snr() -> None:
    rows = [{"method": "mse", "requested_cr": "1/6", "train_snr_db": t, "snr_db": s}
            for t in (0, 10) for s in (-5, 5, 6, 15)]
    rows.append({"method": "separation-webp", "requested_cr": "1/6", "snr_db": 5})
    served = {(r["train_snr_db"], r["snr_db"]) for r in mark_served(rows) if r.get("served")}
    assert served == {(0, -5), (0, 5), (10, 6), (10, 15)}
    assert "served" not in rows[-1]


# ------------------------------------------------------------------------------ CIFAR-10


def write_cifar(root: Path, per_batch: int = 10) -> np.ndarray:
    """Batch files in the python-version layout (pickled dicts of uint8 rows of 3072 =
    R, G, B planes of 32×32); returns the test batch's data."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        data = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        with (folder / name).open("wb") as fh:
            pickle.dump({"batch_label": name, "data": data,
                         "labels": [i % 10 for i in range(per_batch)]}, fh)
    with (folder / "batches.meta").open("wb") as fh:
        pickle.dump({"label_names": ["airplane", "automobile", "bird", "cat", "deer", "dog",
                                     "frog", "horse", "ship", "truck"]}, fh)
    return data


def test_cifar10_reads_the_batch_files(tmp_path: Path) -> None:
    test_data = write_cifar(tmp_path)
    cfg = load_config(None, ["data.kind=cifar10", f"data.root={tmp_path}",
                             "data.val_fraction=0.2", "data.image_size=32"])
    sizes = {s: len(build_dataset(cfg.data, s)) for s in ("train", "val", "test", "db")}
    assert sizes == {"train": 40, "val": 10, "test": 10, "db": 40}
    item = build_dataset(cfg.data, "test")[3]
    expected = torch.from_numpy(test_data[3].reshape(3, 32, 32)).float() / 255
    torch.testing.assert_close(item["image"], expected)
    assert item["label"].tolist() == torch.eye(10)[3].tolist()
    # data.root may also be the batch folder itself; other sizes are resized
    small = load_config(None, ["data.kind=cifar10", f"data.root={tmp_path}/cifar-10-batches-py",
                               "data.val_fraction=0.2", "data.image_size=16"])
    assert build_dataset(small.data, "val")[0]["image"].shape == (3, 16, 16)


def test_cifar10_missing_files_name_the_url(tmp_path: Path) -> None:
    cfg = load_config(None, ["data.kind=cifar10", f"data.root={tmp_path / 'nowhere'}"])
    with pytest.raises(DataError, match="cifar-10-batches-py") as info:
        build_dataset(cfg.data, "train")
    assert URL in str(info.value) and "\n" not in str(info.value)
    write_cifar(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "data_batch_4").unlink()
    with pytest.raises(DataError, match="lacks data_batch_4"):
        build_dataset(load_config(None, ["data.kind=cifar10", f"data.root={tmp_path}"]).data,
                      "train")



class _RunsCode:
    """Pickles into a call of ``pathlib.Path.touch``: what a tampered batch file could do."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (Path.touch, (self.target,))


def test_cifar10_batch_files_cannot_run_code(tmp_path: Path) -> None:
    """The batches are read by an unpickler that builds only data: a batch asking for any
    other global is a one-line DataError naming the file, and nothing it asked for runs."""
    write_cifar(tmp_path)
    touched = tmp_path / "ran"
    batch = tmp_path / "cifar-10-batches-py" / "test_batch"
    with batch.open("wb") as fh:
        pickle.dump({"data": np.zeros((1, 3072), np.uint8), "labels": [0],
                     "x": _RunsCode(touched)}, fh)
    cfg = load_config(None, ["data.kind=cifar10", f"data.root={tmp_path}"])
    with pytest.raises(DataError) as info:
        build_dataset(cfg.data, "test")
    msg = str(info.value)
    assert f"cannot read {batch} (UnpicklingError: it asks for pathlib" in msg
    assert "\n" not in msg and not touched.exists()
    batch.write_bytes(b"not a pickle")
    with pytest.raises(DataError, match="corrupted or not the python version"):
        build_dataset(cfg.data, "test")

# ------------------------------------------------------------------------------ pipeline

MICRO = [
    "data.num_images={train: 48, val: 16, test: 16, db: 16}",
    "data.image_size=16",
    "train.epochs=1",
    "train.batch_size=16",
    "train.eval_batch_size=16",
    "train.device=cpu",
    "task.epochs=1",
    "task.batch_size=16",
    "task.width=4",
    "importance.independent=[task.model=convnet-tiny, task.width=4, seed=1]",
    "importance.methods=[{mse: 1.0}, {importance: 1.0}]",
    "importance.ratios=[1/12]",
    "importance.test_snr_db=[0, 10]",
    "digital.mcs=[9]",  # fixed MCS only: no BLER-table set-up in every shard process
    "sweep.base_set=[train.epochs=1]",
]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("importance") / "out"
    sets = [a for o in MICRO for a in ("--set", o)]
    assert main(["reproduce", "--preset", "importance-tiny", "--out", str(out), *sets]) == 0
    return out


def test_reproduce_writes_results_figures_and_report(tiny_run: Path) -> None:
    header = next(csv.reader((tiny_run / "results.csv").open()))
    assert header[:len(IMPORTANCE_COLUMNS)] == IMPORTANCE_COLUMNS
    rows = read_results(tiny_run / "results.csv")
    assert sorted({r["method"] for r in rows}) == [
        "digital-webp-mcs9", "importance", "mse", "separation-webp"]
    digital = [r for r in rows if r["method"].startswith("digital-")]
    assert len(digital) == 2 and {r["codec"] for r in digital} == {"webp"}
    for r in digital:  # 32 symbols per 16 px image: no WebP file fits a TB, every image lost
        assert r["n_lost"] == r["n_images"] == 16 and r["bler"] == 1.0 and r["tb_bits"] > 0
        assert r["mcs"] == r["mcs_index"] == 9
        assert r["psnr"] > 0 and 0 <= r["accuracy_indep"] <= 1
    djscc = [r for r in rows if r["method"] in ("mse", "importance")]
    # the preset trains every DJSCC with 3 seeds: 2 methods x 2 test SNRs x 3 seeds
    assert len(djscc) == 12 and all(r["served"] for r in djscc)
    assert sorted(r["train_seed"] for r in djscc) == [0] * 4 + [1] * 4 + [2] * 4
    for r in djscc:
        assert r["accuracy_indep_lo"] <= r["accuracy_indep"] <= r["accuracy_indep_hi"]
        assert r["psnr_lo"] <= r["psnr"] <= r["psnr_hi"]
    for r in rows:
        assert 0 <= r["accuracy_task"] <= 1 and 0 <= r["accuracy_indep"] <= 1
        assert r["task_classifier"] != r["indep_classifier"]
    assert all(r["l_sem"] >= 0 and r["psnr"] > 0 for r in djscc)
    for name in ("accuracy_vs_snr.png", "gain_vs_snr.png", "report.md"):
        assert (tiny_run / name).stat().st_size > 0
    report = (tiny_run / "report.md").read_text()
    for text in ("our design", "Top-1 accuracy of the task network T",
                 "Top-1 accuracy of the independent classifier", "## Ablation", "57.7 %",
                 "## Verdict", "## Floors", "pooled with the spread across 3 training seeds",
                 "## Differences with their intervals"):
        assert text in report


def test_reproduce_skips_finished_work(tiny_run: Path) -> None:
    last = tiny_run / "djscc" / "importance" / "cr1_12_snr5_seed2" / "last.pt"
    before = last.stat().st_mtime
    sets = [a for o in MICRO for a in ("--set", o)]
    assert main(["reproduce", "--preset", "importance-tiny", "--out", str(tiny_run), *sets]) == 0
    assert last.stat().st_mtime == before


def test_shards_then_assembling_run_equal_the_local_run(tiny_run: Path, tmp_path: Path,
                                                       sharded_run: Callable) -> None:
    out = tmp_path / "out"
    sets = [a for o in MICRO for a in ("--set", o)]
    log = sharded_run(["reproduce", "--preset", "importance-tiny", "--out", str(out), *sets], out)
    units = [*out.glob("**/last.pt"),  # trainings, evaluations (not their per-image twins)
             *(p for p in (out / "eval").glob("**/*.csv") if not p.name.endswith(".images.csv"))]
    assert log.count("finished, skipped") == len(units)
    text = {run: (run / "results.csv").read_text().replace(str(run), "OUT")
            for run in (out, tiny_run)}
    assert text[out] == text[tiny_run]


def test_shared_base_starts_every_method_with_one_budget(tmp_path: Path) -> None:
    cfg = load_config("importance-tiny/reproduce", [
        "sweep.seeds=[0, 1]", "sweep.base_set=[train.epochs=7]",
        "sweep.base_finetune_set=[train.epochs=2]"])
    plan = build_plan(cfg, tmp_path)
    assert len(plan.bases) == 2 * 2 * 1  # seeds x ratios x train SNRs
    assert all(b.cfg.train.loss == {"mse": 1.0} and b.cfg.train.epochs == 7
               and b.cfg.train.init_from is None for b in plan.bases)
    assert len(plan.runs) == 2 * 4 * 2
    for run in plan.runs:
        base = next(b for b in plan.bases if (b.ratio, b.snr_db, b.cfg.seed)
                    == (run.ratio, run.snr_db, run.cfg.seed))
        assert run.cfg.train.init_from == str(base.checkpoint) and run.cfg.train.epochs == 2
    units = training_units(plan)
    keys = [u.key for u in units]
    for unit in units:  # every start is trained before the models that start from it
        assert all(keys.index(need) < keys.index(unit.key) for need in unit.needs)
    assert sum(len(u.needs) == 2 for u in units) == len(plan.runs)
    no_base = build_plan(load_config("importance-tiny/reproduce", ["sweep.base_set=[]"]),
                         tmp_path)
    assert not no_base.bases and all(r.cfg.train.init_from is None for r in no_base.runs)


def test_report_states_the_training_recipe_of_bases_and_methods(tmp_path: Path) -> None:
    from semjscc.experiments.importance.report import _budget

    text = _budget(build_plan(load_config("importance-tiny/reproduce"), tmp_path))
    assert ("(trained 80 epochs, lr 0.002, onecycle, gradient norm clipped at 0.1) and trains "
            "3 epochs, batch 32, lr 0.0005 (onecycle) with its own loss") in text
    plain = build_plan(load_config("importance-tiny/reproduce", ["sweep.base_set=[]"]), tmp_path)
    assert _budget(plain) == "3 epochs, batch 32, lr 0.002 (onecycle)"
