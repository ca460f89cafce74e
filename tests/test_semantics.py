"""Deep Hash Distillation module, its augmentations, the frozen semantic loss, authentication."""

import math

import pytest
import torch
from torch import nn

from semjscc.config import ConfigError, DHDConfig, load_config
from semjscc.losses import HashTerm, MSETerm, WeightedLoss, build_loss, method_label
from semjscc.models import MultiHopDF, Yilmaz2023DeepJSCC, create_dhd
from semjscc.semantics import AuthenticationDistances, dhd_augmentation, equal_error_rate, far_frr


def tiny_dhd(num_classes=10, bits=16):
    return create_dhd(DHDConfig(backbone="resnet-tiny", pretrained="none", num_bits=bits,
                                crop_size=None, width=8), num_classes)


def test_paper_dhd_structure_and_size():
    model = create_dhd(DHDConfig(pretrained="none"), num_classes=21)
    head = model.head
    assert head.fc.bias is None and head.fc.in_features == 2048 and head.fc.out_features == 64
    assert isinstance(head.norm, nn.LayerNorm) and head.proxies.shape == (21, 64)
    bound = 5 / 3 * math.sqrt(6 / (21 + 64))  # Xavier-uniform with the tanh gain
    assert head.proxies.abs().max() <= bound and head.proxies.abs().max() > 0.8 * bound
    resnet50_without_fc = 25_557_032 - (2048 * 1000 + 1000)
    expected = resnet50_without_fc + 2048 * 64 + 2 * 64 + 21 * 64
    assert sum(p.numel() for p in model.parameters()) == expected == 23_640_576
    model.eval()
    h = model(torch.rand(2, 3, 256, 256))  # centre-cropped to 224 inside
    assert h.shape == (2, 64) and h.abs().max() < 1


def test_dhd_preprocess_crops_and_normalises():
    model = create_dhd(DHDConfig(pretrained="none", crop_size=4, backbone="resnet-tiny"), 3)
    x = torch.rand(1, 3, 8, 8)
    out = model.preprocess(x)
    assert out.shape == (1, 3, 4, 4)
    torch.testing.assert_close(out[0, 0], (x[0, 0, 2:6, 2:6] - 0.485) / 0.229)


def test_augmentation_seeded_and_strength_zero_is_identity():
    x = torch.rand(8, 3, 32, 32)
    aug = dhd_augmentation(32, 1.0)
    torch.manual_seed(3)
    a = aug(x)
    torch.manual_seed(3)
    assert torch.equal(a, aug(x))
    assert a.shape == x.shape and not torch.equal(a, x)
    assert torch.equal(dhd_augmentation(32, 0.0)(x), x)


def test_frozen_dhd_semantic_loss_updates_only_deepjscc():
    torch.manual_seed(0)
    dhd = tiny_dhd()
    dhd_before = {k: v.clone() for k, v in dhd.state_dict().items()}
    model = Yilmaz2023DeepJSCC(8, 8)
    jscc_before = {k: v.clone() for k, v in model.state_dict().items()}
    objective = WeightedLoss({"mse": (1.0, MSETerm()), "dhd": (0.06, HashTerm(dhd))})
    assert objective.label == "mse+dhd"
    objective.train()  # must not put the frozen DHD back in training mode
    assert not dhd.training
    link = MultiHopDF(model)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(4, 3, 16, 16)
    terms = objective(x, link(x, [0.0, 0.0])["x_hat"])
    assert set(terms) == {"loss", "mse", "dhd"}
    torch.testing.assert_close(terms["loss"], terms["mse"] + 0.06 * terms["dhd"])
    opt.zero_grad()
    terms["loss"].backward()
    opt.step()
    assert all(p.grad is None for p in dhd.parameters())
    assert all(torch.equal(v, dhd_before[k]) for k, v in dhd.state_dict().items())
    assert any(not torch.equal(v, jscc_before[k]) for k, v in model.state_dict().items())


def test_hash_term_changes_deepjscc_gradients():
    torch.manual_seed(0)
    dhd = tiny_dhd()
    model = Yilmaz2023DeepJSCC(8, 8)
    x = torch.rand(2, 3, 16, 16)

    def grad(weight):
        model.zero_grad()
        out = model.decode(model.encode(x, torch.zeros(2)), torch.zeros(2))
        objective = WeightedLoss({"mse": (1.0, MSETerm()), "dhd": (weight, HashTerm(dhd))})
        objective(x, out)["loss"].backward()
        return model.decoder[-1].net[0].weight.grad.clone()

    assert not torch.allclose(grad(0.0), grad(10.0))


def test_authentication_rates_by_hand():
    h = torch.tensor([[1.0, 1, 1, 1], [-1.0, -1, -1, -1], [1.0, -1, 1, -1]])
    h_hat = torch.tensor([[1.0, 1, 1, -1], [-1.0, -1, -1, -1], [1.0, 1, 1, 1]])
    labels = torch.tensor([[1, 0], [0, 1], [1, 1]])
    metric = AuthenticationDistances()
    metric.update(h_hat[:2], h[:2], labels[:2])  # two batches: states are concatenated
    metric.update(h_hat[2:], h[2:], labels[2:])
    d = metric.compute()
    assert d["genuine"].tolist() == [1, 0, 2]
    # only images 0 and 1 share no label: received 0 vs sent 1, received 1 vs sent 0
    assert sorted(d["impostor"].tolist()) == [3, 4]
    rows = far_frr(d["genuine"], d["impostor"], 4)
    assert len(rows) == 5
    assert rows[0] == {"threshold": 0, "far": 0.0, "frr": pytest.approx(2 / 3)}
    assert rows[2]["frr"] == 0.0 and rows[3]["far"] == 0.5 and rows[4]["far"] == 1.0
    assert equal_error_rate(rows) == (0.0, 2)


def test_paper_dhd_config_takes_a_training_step_on_cpu():
    from semjscc.losses.dhd import DHDLoss
    from semjscc.training.dhd import dhd_optimizer

    cfg = load_config("paper/dhd", ["dhd.pretrained=none"])
    assert cfg.dhd.backbone == "resnet50" and cfg.dhd.num_bits == 64
    assert cfg.data.num_classes == 21 and cfg.dhd.top_k == 5000
    model = create_dhd(cfg.dhd, cfg.data.num_classes)
    opt = dhd_optimizer(model, cfg)
    assert opt.param_groups[0]["lr"] == pytest.approx(1.5e-5)
    assert opt.param_groups[1]["lr"] == pytest.approx(3e-4)
    x = torch.rand(2, 3, 256, 256)
    labels = torch.tensor([[1.0] + [0] * 20, [0, 1.0] + [0] * 19])
    aug_t = dhd_augmentation(256, cfg.dhd.teacher_strength)
    aug_s = dhd_augmentation(256, cfg.dhd.student_strength)
    terms = DHDLoss()(model(aug_t(x)), model(aug_s(x)), model.head.proxies, labels)
    before = model.head.fc.weight.clone()
    opt.zero_grad()
    terms["loss"].backward()
    opt.step()
    assert torch.isfinite(terms["loss"]) and not torch.equal(before, model.head.fc.weight)


def test_loss_config_builds_weighted_terms_and_labels(micro_cfg):
    assert method_label({"mse": 1.0, "dhd": 0.06}) == "mse+dhd"
    assert method_label({"mse": 1.0, "dhd": {"weight": 0, "checkpoint": "x"}}) == "mse"
    objective = build_loss(micro_cfg)
    assert objective.label == "mse" and objective.weights == {"mse": 1.0}
    with pytest.raises(ConfigError, match="the dhd loss term needs a trained DHD"):
        build_loss(load_config("tiny/df", ["train.loss={mse: 1, dhd: 0.06}"]))
    with pytest.raises(ConfigError, match="unknown loss term 'msee'"):
        build_loss(load_config("tiny/df", ["train.loss={msee: 1}"]))
    with pytest.raises(ConfigError, match="train.loss.mse: loss term 'mse' has no option foo"):
        build_loss(load_config("tiny/df", ["train.loss={mse: {weight: 1, foo: 2}}"]))
    with pytest.raises(ConfigError, match="must be a finite number >= 0"):
        build_loss(load_config("tiny/df", ["train.loss={mse: -1}"]))


def test_clean_memo_computes_once_per_distinct_batch():
    from semjscc.semantics.memo import CleanMemo

    calls = []

    def net(x):
        calls.append(x.shape[0])
        return x.sum(dim=(1, 2, 3))

    memo = CleanMemo(net)
    a, b = torch.rand(4, 3, 8, 8), torch.rand(4, 3, 8, 8)
    first = memo(a)
    assert torch.equal(memo(a.clone()), first) and len(calls) == 1  # same content: cached
    assert torch.equal(memo(b), net(b)) and len(calls) == 3  # new content: computed
    c = a.clone()
    c[0, 0, 0, 0] += 1e-3  # one changed value is a different batch
    assert not torch.equal(memo(c), first) and len(calls) == 4
