"""Authentication experiment: FAR/FRR of hash-based acceptance per method × relays × SNR."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ..data import build_dataset, make_loader
from ..semantics.authentication import authentication_distances, equal_error_rate, far_frr
from ..semantics.dhd import load_dhd
from .distributed import resolve_device
from .evaluate import df_system, evaluate_system, load_jscc


class HashPairSuite:
    """Collects h(S), h(Ŝ) (Ŝ clamped to [0, 1]) and labels of every evaluated image."""

    def __init__(self, dhd: torch.nn.Module) -> None:
        self.dhd = dhd
        self.h: list[Tensor] = []
        self.h_hat: list[Tensor] = []
        self.labels: list[Tensor] = []

    def update(self, x: Tensor, x_hat: Tensor, labels: Tensor) -> None:
        self.h.append(self.dhd(x).cpu())
        self.h_hat.append(self.dhd(x_hat.clamp(0.0, 1.0)).cpu())
        self.labels.append(labels.cpu())

    def compute(self) -> dict[str, float]:
        return {}

    def distances(self):
        return authentication_distances(torch.cat(self.h), torch.cat(self.h_hat),
                                        torch.cat(self.labels))


def authenticate(dhd_path: str | Path, checkpoints: list[str | Path],
                 snr_db: list[float] | None = None, relays: list[int] | None = None,
                 device: str = "auto", seed: int | None = None) -> list[dict[str, Any]]:
    """FAR/FRR rows (one per threshold) for every checkpoint × relays × SNR."""
    dev = resolve_device(device)
    dhd, _ = load_dhd(dhd_path, dev)
    rows: list[dict[str, Any]] = []
    for path in checkpoints:
        model, cfg = load_jscc(path, dev)
        loader = make_loader(build_dataset(cfg.data, cfg.eval.split), cfg.train.eval_batch_size,
                             shuffle=False, seed=cfg.seed, num_workers=cfg.data.num_workers)
        eval_seed = cfg.eval.seed if seed is None else seed
        for r in relays or cfg.eval.relays or [cfg.link.relays]:
            for snr in snr_db or cfg.eval.snr_db or [cfg.link.hop_snrs_db()[0]]:
                suite = HashPairSuite(dhd)
                evaluate_system(df_system(model, r, snr, cfg.link.relay_clamp), loader, [suite],
                                dev, eval_seed, desc=f"auth {cfg.train.method} r={r} {snr:g}dB")
                d = suite.distances()
                curve = far_frr(d)
                eer, t_eer = equal_error_rate(curve)
                for point in curve:
                    rows.append({"method": cfg.train.method, "relays": r, "snr_db": snr, **point,
                                 "eer": eer, "eer_threshold": t_eer,
                                 "n_genuine": len(d.genuine), "n_impostor": len(d.impostor),
                                 "checkpoint": str(path)})
    return rows
