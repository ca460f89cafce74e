"""Shared fixtures: a very small synthetic configuration that trains in seconds."""

from __future__ import annotations

from pathlib import Path
from urllib.error import URLError

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


@pytest.fixture
def torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty TORCH_HOME in tmp_path; any download attempt fails at once (no network)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def offline(url: str, dst: str, *args: object, **kwargs: object) -> None:
        raise URLError("network is unreachable")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    return tmp_path
