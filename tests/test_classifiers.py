"""Task classifiers: registered networks, preprocessing, feature access, weights, loading,
classification metrics and the classifier judge."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import timm
import torch
import torchvision.models as tvm
from huggingface_hub import constants as hf_constants
from safetensors.torch import save_file
from torch import nn
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy

from semjscc.checkpoint import save_checkpoint
from semjscc.config import Config, TaskConfig, to_dict
from semjscc.errors import CheckpointError, ConfigError
from semjscc.evaluation.evaluate import Suite
from semjscc.metrics import (
    LabelAgreement,
    TopLabelAccuracy,
    classification_metrics,
    confusion_matrix,
)
from semjscc.models import Classifier, WeightsError, create_classifier, load
from semjscc.models.classifiers import EFFICIENTVIT_HF_REPO, classifier_from_state_dict
from semjscc.registry import CLASSIFIERS
from semjscc.semantics import ClassifierJudge


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def narrow_resnet_count(w: int, classes: int, small: bool) -> int:
    """Parameters of a one-BasicBlock-per-stage ResNet (channels w, 2w, 4w, 8w), by hand."""
    conv = lambda cin, cout, k=3: cin * cout * k * k
    bn = lambda c: 2 * c
    if small:  # one 3x3 convolution, then bn1
        stem = conv(3, w) + bn(w)
    else:  # deep stem: w/2, w/2, w (BN after the first two), then bn1
        h = w // 2
        stem = conv(3, h) + bn(h) + conv(h, h) + bn(h) + conv(h, w) + bn(w)
    total = stem + 2 * (conv(w, w) + bn(w))
    for c in (w, 2 * w, 4 * w):  # stages 2-4 double the width, with a 1x1 projection
        total += conv(c, 2 * c) + bn(2 * c) + conv(2 * c, 2 * c) + bn(2 * c)
        total += conv(c, 2 * c, 1) + bn(2 * c)
    return total + 8 * w * classes + classes


def test_registered_names():
    assert CLASSIFIERS.names() == ["convnet-tiny", "efficientvit_m2", "resnet-tiny",
                                   "resnet18-cifar"]


@pytest.mark.parametrize("size, width, small", [(32, 16, True), (64, 32, False)])
def test_resnet_tiny_parameter_count_and_stem(size, width, small):
    model = create_classifier(TaskConfig(model="resnet-tiny"), 10, image_size=size)
    assert n_params(model) == narrow_resnet_count(width, 10, small)
    assert n_params(model) == {32: 308_826, 64: 1_235_514}[size]
    assert isinstance(model.net.conv1, nn.Conv2d) is small
    assert model.net.layer1[0].conv1.out_channels == width


def test_resnet18_cifar_parameter_count_and_stem():
    model = create_classifier(TaskConfig(model="resnet18-cifar"), 10)
    reference = n_params(tvm.resnet18(num_classes=10))  # ImageNet stem: 7x7 conv
    assert n_params(model) == reference - 7 * 7 * 3 * 64 + 3 * 3 * 3 * 64 == 11_173_962
    assert model.net.conv1.stride == (1, 1) and isinstance(model.net.maxpool, nn.Identity)
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, 10)


def test_convnet_tiny_parameter_count():
    model = create_classifier(TaskConfig(model="convnet-tiny"), 10)
    w, blocks = 32, [(3, 32), (32, 64), (64, 128)]
    expected = sum(9 * a * b + 2 * b + 9 * b * b + 2 * b for a, b in blocks) + 4 * w * 10 + 10
    assert n_params(model) == expected == 288_746
    assert [type(m).__name__ for m in model.net.block1] == [
        "Conv2d", "BatchNorm2d", "ReLU", "Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d"]
    assert model(torch.rand(3, 3, 32, 32)).shape == (3, 10)


def test_efficientvit_parameter_count_and_input_size():
    model = create_classifier(TaskConfig(model="efficientvit_m2"), 10)
    imagenet_head = 224 * 1000 + 1000
    assert n_params(model) == n_params(timm.create_model("efficientvit_m2")) - imagenet_head \
        + 224 * 10 + 10 == 3_964_804
    assert model.input_size == 224 and model.net.head.linear.out_features == 10
    with pytest.raises(ConfigError, match="takes 224 px inputs"):
        create_classifier(TaskConfig(model="efficientvit_m2", input_size=64), 10)
    with pytest.raises(ConfigError, match="task.width=8 does not apply"):
        create_classifier(TaskConfig(model="efficientvit_m2", width=8), 10)


class Passthrough(nn.Module):
    """A "network" returning what it is given, to look at the preprocessing."""

    def forward(self, x):
        return x


def test_preprocessing_resizes_bilinearly_and_normalises():
    x = torch.rand(2, 3, 2, 2)
    # bilinear 2 -> 4 with half-pixel centres: output i samples (i + 0.5) / 2 - 0.5, clamped
    w = torch.tensor([[1.0, 0.0], [0.75, 0.25], [0.25, 0.75], [0.0, 1.0]])
    resized = w @ x @ w.T
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    out = Classifier(Passthrough(), 3, input_size=4)(x)
    torch.testing.assert_close(out, (resized - mean) / std, rtol=0, atol=2e-5)
    plain = Classifier(Passthrough(), 3, input_size=4, normalize="none")(x)
    torch.testing.assert_close(plain, resized, rtol=0, atol=5e-6)
    assert torch.equal(Classifier(Passthrough(), 3, input_size=2, normalize="none")(x), x)
    assert torch.equal(Classifier(Passthrough(), 3, normalize="none")(x), x)
    with pytest.raises(ConfigError, match="task.normalize='zscore'; choose one of: imagenet"):
        Classifier(Passthrough(), 3, normalize="zscore")


@pytest.mark.parametrize("name, layers, size, shapes", [
    ("resnet-tiny", ["layer3", "layer4"], 16, [(2, 32, 4, 4), (2, 64, 2, 2)]),
    ("convnet-tiny", ["block2"], 16, [(2, 16, 4, 4)]),
    ("efficientvit_m2", ["stages.2"], 32, [(2, 224, 4, 4)]),
])
def test_forward_features_shapes_and_gradients(name, layers, size, shapes):
    width = None if name == "efficientvit_m2" else 8
    model = create_classifier(TaskConfig(model=name, width=width), 5, image_size=size).eval()
    assert set(layers) <= set(model.feature_layers())
    x = torch.rand(2, 3, size, size)
    logits, features = model.forward_features(x, layers)
    assert list(features) == layers and [tuple(f.shape) for f in features.values()] == shapes
    torch.testing.assert_close(logits, model(x))  # the same pass as forward
    grads = torch.autograd.grad(logits[0, 3], list(features.values()))
    for grad, feature in zip(grads, features.values()):
        assert grad.shape == feature.shape and grad[0].abs().sum() > 0
        assert grad[1].abs().sum() == 0  # another image's logit does not depend on it
    assert not any(m._forward_hooks for m in model.modules())  # hooks removed
    with pytest.raises(ConfigError, match="no layer 'layer9'"):
        model.forward_features(x, ["layer9"])


def _checkpoint(tmp_path: Path, model: Classifier, task: TaskConfig) -> Path:
    cfg = dataclasses.replace(Config(), task=task)
    return save_checkpoint({"kind": "classifier", "config": to_dict(cfg),
                            "model": model.state_dict(), "epoch": 1, "best_metric": 0.5,
                            "metrics": {}}, tmp_path / "best.pt")


@pytest.mark.parametrize("task, size, classes", [
    (TaskConfig(model="resnet-tiny", width=12), 64, 7),
    (TaskConfig(model="resnet-tiny", width=6), 32, 3),
    (TaskConfig(model="convnet-tiny", width=10, input_size=24), 32, 4),
])
def test_state_dict_and_checkpoint_round_trip(tmp_path, task, size, classes):
    model = create_classifier(task, classes, image_size=size).eval()
    x = torch.rand(2, 3, size, size)
    # the saved config does not know the width: it comes from the weights
    path = _checkpoint(tmp_path, model, dataclasses.replace(task, width=None))
    rebuilt = classifier_from_state_dict(model.state_dict(), dataclasses.replace(task, width=None))
    loaded, cfg = load(path, ["data.kind=list", "data.root=/nowhere"])  # opens no dataset
    assert cfg.data.root == "/nowhere" and cfg.task.model == task.model
    for other in (rebuilt.eval(), loaded):
        assert isinstance(other, Classifier) and other.num_classes == classes
        assert other.input_size == task.input_size
        torch.testing.assert_close(other(x), model(x), rtol=0, atol=0)
    assert not loaded.training and not any(p.requires_grad for p in loaded.parameters())
    first = "layer1.0.conv1" if task.model == "resnet-tiny" else "block1.0"
    assert loaded.net.get_submodule(first).out_channels == task.width


def test_loading_weights_as_another_model_is_one_line(tmp_path):
    model = create_classifier(TaskConfig(model="convnet-tiny", width=4), 3)
    with pytest.raises(CheckpointError, match=r"not a resnet-tiny classifier .* set task.model"):
        classifier_from_state_dict(model.state_dict(), TaskConfig(model="resnet-tiny"))
    path = _checkpoint(tmp_path, model, TaskConfig(model="convnet-tiny"))
    with pytest.raises(CheckpointError, match="'classifier' model, but a 'dhd'"):
        load(path, kind="dhd")


def test_scratch_models_refuse_imagenet_and_load_files(tmp_path):
    for name in ("resnet-tiny", "resnet18-cifar", "convnet-tiny"):
        with pytest.raises(WeightsError, match=f"{name} has no ImageNet weights"):
            create_classifier(TaskConfig(model=name, pretrained="imagenet"), 10)
    source = create_classifier(TaskConfig(model="convnet-tiny", width=4), 3)
    torch.save(source.net.state_dict(), tmp_path / "w.pt")
    copy = create_classifier(TaskConfig(model="convnet-tiny", width=4,
                                        pretrained=str(tmp_path / "w.pt")), 3)
    assert all(torch.equal(a, b) for a, b in zip(source.state_dict().values(),
                                                 copy.state_dict().values()))
    unloaded = create_classifier(TaskConfig(model="convnet-tiny", width=4,
                                            pretrained=str(tmp_path / "w.pt")), 3,
                                 pretrained=False)
    assert not torch.equal(unloaded.net.fc.weight, source.net.fc.weight)


@pytest.fixture
def empty_hf_cache(tmp_path, monkeypatch) -> Path:
    cache = tmp_path / "hf" / "hub"
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(cache))
    return cache


def test_efficientvit_imagenet_without_cached_file_is_one_line(empty_hf_cache):
    with pytest.raises(WeightsError) as info:
        create_classifier(TaskConfig(model="efficientvit_m2", pretrained="imagenet"), 10)
    message = str(info.value)
    assert "\n" not in message
    for part in (f"{EFFICIENTVIT_HF_REPO}/model.safetensors", str(empty_hf_cache),
                 "task.pretrained=/path/model.safetensors", "task.pretrained=none"):
        assert part in message


def _assert_efficientvit_loaded(model: Classifier, reference: dict[str, torch.Tensor]) -> None:
    state = model.net.state_dict()
    body = [k for k in reference if not k.startswith("head.linear.")]
    assert len(body) == len(state) - 2
    assert all(torch.equal(state[k], reference[k]) for k in body)  # incl. head.bn
    assert model.net.head.linear.weight.shape == (10, 224)  # the head is replaced
    assert reference["head.linear.weight"].shape == (1000, 224)


def test_efficientvit_weights_from_a_path(tmp_path):
    reference = timm.create_model("efficientvit_m2").state_dict()
    torch.save(reference, tmp_path / "efficientvit_m2.pth")
    model = create_classifier(TaskConfig(model="efficientvit_m2",
                                         pretrained=str(tmp_path / "efficientvit_m2.pth")), 10)
    _assert_efficientvit_loaded(model, reference)
    torch.save({k: v for k, v in reference.items() if "stages.2" not in k}, tmp_path / "cut.pth")
    with pytest.raises(WeightsError, match=r"does not fit EfficientVitMsra: \d+ missing keys"):
        create_classifier(TaskConfig(model="efficientvit_m2", pretrained=str(tmp_path / "cut.pth")),
                          10)
    with pytest.raises(WeightsError, match="not found"):
        create_classifier(TaskConfig(model="efficientvit_m2",
                                     pretrained=str(tmp_path / "absent.pth")), 10)


def test_efficientvit_imagenet_from_the_hf_cache(empty_hf_cache):
    reference = timm.create_model("efficientvit_m2").state_dict()
    repo = empty_hf_cache / f"models--{EFFICIENTVIT_HF_REPO.replace('/', '--')}"
    commit = "0" * 40
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in reference.items()},
              str(snapshot / "model.safetensors"))
    model = create_classifier(TaskConfig(model="efficientvit_m2", pretrained="imagenet"), 10)
    _assert_efficientvit_loaded(model, reference)


# ------------------------------------------------------------------------------ metrics

LOGITS = torch.tensor([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.5, 0.0, 2.0], [1.0, 0.0, 0.0],
                       [0.0, 0.0, 4.0]])  # top-1: 0, 1, 2, 0, 2


def test_top_label_accuracy_multi_hot_by_hand():
    labels = torch.tensor([[0, 1, 1], [1, 1, 0], [0, 0, 0], [1, 0, 1], [1, 1, 0]]).float()
    metric = TopLabelAccuracy()
    metric.update(LOGITS[:2], labels[:2])
    metric.update(LOGITS[2:], labels[2:])
    # top classes 0, 1, 2, 0, 2 -> hits: no, yes, no, yes, no
    assert float(metric.compute()) == pytest.approx(2 / 5)


def test_accuracy_matches_torchmetrics_for_one_hot_labels():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(50, 4, generator=g)
    classes = torch.randint(0, 4, (50,), generator=g)
    ours = TopLabelAccuracy()
    ours.update(logits, torch.eye(4)[classes])
    reference = MulticlassAccuracy(4, average="micro")
    reference.update(logits, classes)
    assert float(ours.compute()) == pytest.approx(float(reference.compute()))


def test_label_agreement_by_hand():
    clean = torch.tensor([[0.0, 1.0, 0.0], [0.0, 2.0, 1.0], [3.0, 0.0, 0.0], [0.0, 0.0, 1.0],
                          [0.0, 0.0, 5.0]])  # top-1: 1, 1, 0, 2, 2
    metric = LabelAgreement()
    metric.update(preds=LOGITS, target=clean)  # equal for images 1 and 4
    assert float(metric.compute()) == pytest.approx(2 / 5)
    assert LabelAgreement.higher_is_better is True


def test_weighted_metrics_and_confusion_matrix_by_hand():
    labels = torch.eye(3)[torch.tensor([0, 1, 2, 1, 2])]  # top-1 predictions 0, 1, 2, 0, 2
    metrics = classification_metrics(3, multi_label=False, prefix="val_")
    metrics.update(preds=LOGITS, labels=labels)
    out = {k: float(v) for k, v in metrics.compute().items()}
    # class 0: precision 1/2, recall 1; class 1: 1, 1/2; class 2: 1, 1
    # supports 1, 2, 2 (weights 0.2, 0.4, 0.4)
    f1 = [2 / 3, 2 / 3, 1.0]
    assert out == pytest.approx({"val_accuracy": 0.8, "val_precision_w": 0.2 * 0.5 + 0.8,
                                 "val_recall_w": 0.2 + 0.4 * 0.5 + 0.4,
                                 "val_f1_w": 0.2 * f1[0] + 0.4 * f1[1] + 0.4 * f1[2]})
    cm = confusion_matrix(3, multi_label=False)
    cm.update(LOGITS, labels)
    assert cm.compute().tolist() == [[1, 0, 0], [1, 1, 0], [0, 0, 2]]
    assert list(classification_metrics(3, multi_label=True).keys()) == ["accuracy"]
    multi = confusion_matrix(3, multi_label=True)
    multi.update(LOGITS, torch.tensor([[1, 0, 0], [0, 1, 1], [0, 0, 1], [0, 1, 0], [0, 0, 1.0]]))
    # sigmoid > 0.5 <=> logit > 0: predicted sets {0,1}, {1,2}, {0,2}, {0}, {2}
    assert multi.compute()[:, 1, 1].tolist() == [1, 1, 3]  # TP per class
    assert multi.compute()[:, 0, 1].tolist() == [2, 1, 0]  # FP per class


def test_accuracy_and_agreement_never_share_a_compute_group():
    # equal counts after the first batch must not merge the two metrics
    collection = MetricCollection({"accuracy": TopLabelAccuracy(),
                                   "label_agreement": LabelAgreement()})
    labels = torch.eye(3)[torch.tensor([0, 0, 2, 1, 1])]  # accuracy hits: 1, 0, 1, 0, 0
    clean = LOGITS.clone()
    clean[0] = torch.tensor([0.0, 1.0, 0.0])  # agreement hits: 0, 1, 1, 1, 1
    collection.update(preds=LOGITS[:2], labels=labels[:2], target=clean[:2])  # 1/2 and 1/2
    collection.update(preds=LOGITS[2:], labels=labels[2:], target=clean[2:])
    out = collection.compute()
    assert float(out["accuracy"]) == pytest.approx(2 / 5)
    assert float(out["label_agreement"]) == pytest.approx(4 / 5)


class MeanColour(nn.Module):
    """Logits = the mean of each colour channel; records what it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[torch.Tensor] = []

    def forward(self, x):
        self.seen.append(x)
        return x.mean((2, 3))


def test_classifier_judge_names_and_routing():
    judge = ClassifierJudge(MeanColour(), multi_label=False, num_classes=3, suffix="_indep")
    metrics = judge.metrics()
    assert sorted(metrics.keys()) == ["accuracy_indep", "f1_w_indep", "label_agreement_indep",
                                      "precision_w_indep", "recall_w_indep"]
    assert sorted(ClassifierJudge(MeanColour(), True, 3).metrics().keys()) == [
        "accuracy", "label_agreement"]
    x = torch.zeros(4, 3, 2, 2)
    x[:, 0] = 0.9  # the clean images are all class 0
    x_hat = x.clone()
    x_hat[2:, 1] = 5.0  # out of range: clamped to 1, so images 2 and 3 become class 1
    labels = torch.eye(3)[torch.tensor([0, 0, 1, 0])]
    inputs = judge.inputs(x, x_hat, labels)
    assert judge.classifier.seen[0].max() == 1.0 and judge.classifier.seen[1] is x
    assert inputs["labels"] is labels
    suite = Suite(metrics, judge.inputs)
    suite.update(x, x_hat, labels)
    out = suite.compute()
    # predictions 0, 0, 1, 1 against labels 0, 0, 1, 0; the clean predictions are all 0
    assert out["accuracy_indep"] == pytest.approx(0.75)
    assert out["label_agreement_indep"] == pytest.approx(0.5)
    assert out["recall_w_indep"] == pytest.approx(0.75)
