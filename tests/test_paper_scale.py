"""Paper-scale builds on CPU (slow: run with `pytest -m slow`)."""

import pytest
import torch

from semjscc.checkpoint import save_checkpoint
from semjscc.config import load_config, to_dict
from semjscc.losses import build_loss
from semjscc.models import MultiHopDF, create_dhd, create_model

pytestmark = pytest.mark.slow


def test_paper_mse_dhd_training_step_at_256(tmp_path):
    dhd_cfg = load_config("paper/dhd", ["dhd.pretrained=none"])
    dhd = create_dhd(dhd_cfg.dhd, dhd_cfg.data.num_classes)
    path = save_checkpoint({"kind": "dhd", "config": to_dict(dhd_cfg), "model": dhd.state_dict(),
                            "epoch": 0, "best_metric": 0.0}, tmp_path / "dhd.pt")
    cfg = load_config("paper/df", ["train.loss={mse: 1.0, dhd: 0.06}", f"dhd.checkpoint={path}",
                                   "link.relays=1"])
    model = create_model(cfg.model)
    objective = build_loss(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.train.lr)
    x = torch.rand(1, 3, 256, 256)
    out = MultiHopDF(model)(x, cfg.link.hop_snrs_db())
    terms = objective(x, out["x_hat"])
    hasher = objective.terms["dhd"].hasher
    before = [p.clone() for p in hasher.parameters()]
    opt.zero_grad()
    terms["loss"].backward()
    opt.step()
    assert torch.isfinite(terms["loss"]) and terms["dhd"] > 0
    assert all(torch.equal(a, b) for a, b in zip(before, hasher.parameters()))
