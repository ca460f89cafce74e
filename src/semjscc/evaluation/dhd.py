"""Retrieval evaluation of a trained DHD: test-split queries against the db split."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from ..config import Config
from ..data import build_dataset, make_loader
from ..device import resolve_device
from ..metrics.retrieval import mean_average_precision, to_codes
from ..models import DHD, load
from ..semantics import compute_hashes


@dataclass
class HashDatabase:
    """Continuous hashes and labels of the retrieval database (computed once per run)."""

    hashes: Tensor
    labels: Tensor

    @property
    def codes(self) -> Tensor:
        return to_codes(self.hashes)


def split_hashes(dhd: DHD, cfg: Config, split: str, device: torch.device) -> HashDatabase:
    loader = make_loader(build_dataset(cfg.data, split), cfg.train.eval_batch_size,
                         shuffle=False, seed=cfg.seed, num_workers=cfg.data.num_workers)
    return HashDatabase(*compute_hashes(dhd, loader, device, f"hashing {split} split"))


def random_code_map(num_bits: int, queries: HashDatabase, database: HashDatabase,
                    top_k: int | None, seed: int = 0) -> float:
    """mAP of random ±1 codes with the same labels: the chance level of this label set."""
    g = torch.Generator().manual_seed(seed)
    rq = torch.randint(0, 2, (len(queries.labels), num_bits), generator=g).float() * 2 - 1
    rd = torch.randint(0, 2, (len(database.labels), num_bits), generator=g).float() * 2 - 1
    return float(mean_average_precision(rq, rd, queries.labels, database.labels, top_k=top_k))


def evaluate_dhd(path: str | Path, overrides: list[str] | None = None,
                 top_k: int | None = None, device: str = "auto") -> dict[str, float]:
    """mAP@K of the test split against the db split, next to the random-code level."""
    dev = resolve_device(device)
    dhd, cfg = load(path, overrides, dev, kind="dhd")
    k = top_k if top_k is not None else cfg.dhd.top_k
    queries = split_hashes(dhd, cfg, "test", dev)
    database = split_hashes(dhd, cfg, "db", dev)
    score = float(mean_average_precision(queries.codes, database.codes, queries.labels,
                                         database.labels, top_k=k))
    return {"map": score, "random_map": random_code_map(dhd.num_bits, queries, database, k),
            "top_k": k, "n_queries": len(queries.labels), "n_database": len(database.labels),
            "num_bits": dhd.num_bits}

