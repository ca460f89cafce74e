"""Shared fixtures: a very small synthetic configuration that trains in seconds."""

from __future__ import annotations

from pathlib import Path
from urllib.error import URLError

import pytest
import torch
import torchvision.models as tvm

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


def alexnet_state(seed: int = 7) -> dict[str, torch.Tensor]:
    """A complete torchvision AlexNet state_dict with random features and an all-zero
    classifier stored as stride-0 views (~10 MB instead of 233 MB): a stand-in for
    ``alexnet-owt-7be5be79.pth`` that tests the loading paths only."""
    torch.manual_seed(seed)
    state = dict(tvm.alexnet().features.state_dict(prefix="features."))
    with torch.device("meta"):
        shapes = {k: v.shape for k, v in tvm.alexnet().state_dict().items()}
    state.update({k: torch.zeros(1).expand(s) for k, s in shapes.items()
                  if k.startswith("classifier.")})
    return state


@pytest.fixture
def alexnet_file(torch_home: Path) -> Path:
    """The stand-in AlexNet file where the ImageNet file is looked up; its LPIPS values mean
    nothing."""
    path = torch_home / "hub" / "checkpoints" / "alexnet-owt-7be5be79.pth"
    path.parent.mkdir(parents=True)
    torch.save(alexnet_state(), path)
    return path
