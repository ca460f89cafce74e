"""Authentication experiment: FAR/FRR of hash-based acceptance per method × relays × SNR."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torchmetrics import MetricCollection

from ..channels import build_channel
from ..data import build_dataset, make_loader
from ..data.fingerprint import check_same_data, checkpoint_fingerprint
from ..device import resolve_device
from ..losses import method_label
from ..models import load
from ..semantics import AuthenticationDistances, equal_error_rate, far_frr
from .evaluate import Suite, df_system, evaluate_system, hop_snrs_for


def authenticate(dhd_path: str | Path, checkpoints: list[str | Path],
                 snr_db: list[float] | None = None, relays: list[int] | None = None,
                 device: str = "auto", seed: int | None = None) -> list[dict[str, Any]]:
    """FAR/FRR rows (one per threshold) for every checkpoint × relays × SNR; a checkpoint
    trained on another dataset than the DHD is refused before any work."""
    dhd_data = (f"the DHD {dhd_path}", checkpoint_fingerprint(dhd_path, "dhd"))
    for path in checkpoints:
        check_same_data(dhd_data, (f"the model {path}", checkpoint_fingerprint(path, "deepjscc")))
    dev = resolve_device(device)
    dhd, _ = load(dhd_path, device=dev, kind="dhd")

    def hashes(x, x_hat, labels):
        return {"preds": dhd(x_hat.clamp(0.0, 1.0)), "target": dhd(x), "labels": labels}

    rows: list[dict[str, Any]] = []
    for path in checkpoints:
        model, cfg = load(path, device=dev, kind="deepjscc")
        channel = build_channel(cfg.link.channel)
        loader = make_loader(build_dataset(cfg.data, cfg.eval.split), cfg.train.eval_batch_size,
                             shuffle=False, seed=cfg.seed, num_workers=cfg.data.num_workers)
        eval_seed = cfg.eval.seed if seed is None else seed
        method = method_label(cfg.train.loss)
        for r in relays or cfg.eval.relays or [cfg.link.relays]:
            for snr in list(snr_db or cfg.eval.snr_db) or [None]:
                hop_snrs = hop_snrs_for(cfg, r, snr)
                metric = AuthenticationDistances().to(dev)
                evaluate_system(df_system(model, channel, hop_snrs, cfg.link.relay_clamp),
                                loader, [Suite(MetricCollection({"auth": metric}), hashes)],
                                dev, eval_seed, desc=f"auth {method} r={r} {min(hop_snrs):g}dB")
                d = metric.compute()
                curve = far_frr(d["genuine"].cpu(), d["impostor"].cpu(), dhd.num_bits)
                eer, t_eer = equal_error_rate(curve)
                for point in curve:
                    rows.append({"method": method, "relays": r, "snr_db": min(hop_snrs),
                                 **channel.describe(), **point, "eer": eer,
                                 "eer_threshold": t_eer, "n_genuine": len(d["genuine"]),
                                 "n_impostor": len(d["impostor"]), "checkpoint": str(path)})
    return rows
