"""Shared fixtures: a very small synthetic configuration that trains in seconds."""

from __future__ import annotations

import pytest
import torch

from semjscc.config import Config, load_config

MICRO = [
    "data.image_size=16",
    "data.num_images={train: 48, val: 16, test: 16, db: 32}",
    "model.num_features=8",
    "model.bandwidth_ratio=1/6",
    "train.epochs=2",
    "train.batch_size=16",
    "train.eval_batch_size=16",
    "train.device=cpu",
    "link.relays=1",
]


@pytest.fixture
def micro_overrides() -> list[str]:
    """--set overrides turning tiny/df into a seconds-long run."""
    return list(MICRO)


@pytest.fixture
def micro_cfg() -> Config:
    return load_config("tiny/df", MICRO)


@pytest.fixture(autouse=True)
def _reseed():
    torch.manual_seed(0)
