"""Finding and loading ImageNet weights through torchvision's weights API, or local files.

A weights spec is ``None``/"none" (random init), "imagenet" (torchvision's ImageNet file for
the architecture, e.g. ``resnet50-0676ba61.pth``, looked up in ``$TORCH_HOME/hub/checkpoints``
and downloaded there from torchvision's URL when online) or a path to a state_dict file.
Files are always read with ``torch.load(..., weights_only=True)`` (``files.load_tensors``).
Every failure is one ``WeightsError`` line saying which file, what is wrong, and how to fix it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

import torch
import torchvision.models as tvm
from torch import Tensor, nn

from ..errors import SemjsccError, describe
from ..files import UnreadableFile, check_input, load_tensors

M = TypeVar("M", bound=nn.Module)

# torchvision's ImageNet weights used by the project (the files torchvision, the lpips
# package and torchmetrics all load).
IMAGENET_WEIGHTS: dict[str, tvm.WeightsEnum] = {
    "resnet18": tvm.ResNet18_Weights.IMAGENET1K_V1,
    "resnet50": tvm.ResNet50_Weights.IMAGENET1K_V1,
    "alexnet": tvm.AlexNet_Weights.IMAGENET1K_V1,
}


class WeightsError(SemjsccError, RuntimeError):
    """Weights could not be found, read or matched to the model (message is one line)."""


def weights_filename(arch: str) -> str:
    """The file name of ``arch``'s ImageNet weights, e.g. ``resnet50-0676ba61.pth``."""
    return Path(urlparse(imagenet_weights(arch).url).path).name


def imagenet_weights(arch: str) -> tvm.WeightsEnum:
    if arch not in IMAGENET_WEIGHTS:
        raise WeightsError(
            f"no ImageNet weights for {arch!r} (known: {', '.join(IMAGENET_WEIGHTS)}); "
            "fix: pass a weights file path or use pretrained: none")
    return IMAGENET_WEIGHTS[arch]


def _first(keys: list[str], n: int = 3) -> str:
    return ", ".join(keys[:n]) + (", ..." if len(keys) > n else "")


def hub_checkpoint_dir() -> Path:
    """The torch.hub file cache, ``$TORCH_HOME/hub/checkpoints`` (default ~/.cache/torch)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def _imagenet_file(arch: str) -> Path:
    """Cached ImageNet file for ``arch``, downloading it into the hub cache if missing."""
    url = imagenet_weights(arch).url
    filename = weights_filename(arch)
    cache = hub_checkpoint_dir()
    target = cache / filename
    if target.is_file():
        return target
    try:
        cache.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(url, str(target),
                                       hash_prefix=filename.rsplit("-", 1)[1].split(".")[0],
                                       progress=True)
    except Exception as exc:  # no network, proxy, disk, hash mismatch: all the same fix
        raise WeightsError(
            f"ImageNet weights for {arch!r} not found: expected {filename} in {cache} and "
            f"downloading {url} failed ({describe(exc)}); fix: download that file into "
            f"{cache} (or set TORCH_HOME), pass its path as the weights, or use "
            "pretrained: none") from exc
    return target


def resolve_weights(arch: str, spec: str | os.PathLike[str] | None) -> Path | None:
    """Weights spec -> file to load, or None for random init (see module docstring)."""
    if spec is None or str(spec).lower() == "none":
        return None
    if str(spec).lower() == "imagenet":
        return _imagenet_file(arch)
    path = Path(spec).expanduser()
    if not path.exists():
        raise WeightsError(
            f"weights file {path} for {arch!r} not found; fix: correct the path, "
            "use 'imagenet' for the ImageNet weights, or use pretrained: none")
    return check_input(path, f"weights file for {arch!r}")


def read_state_dict(path: Path) -> Mapping[str, Tensor]:
    """Tensors of a raw state_dict file, or of one wrapped under "state_dict" / "model"."""
    try:
        obj: Any = load_tensors(path)
    except UnreadableFile as exc:
        if exc.refused:
            raise WeightsError(
                f"weights file {path} holds pickled Python objects ({exc}); fix: re-save only "
                "the tensors with torch.save(model.state_dict(), path)") from exc
        raise WeightsError(
            f"cannot read weights file {path} ({exc}): it is truncated, corrupt, "
            "or not a PyTorch file; fix: download it again, or re-save it with "
            "torch.save(model.state_dict(), path)") from exc
    for wrapper in ("state_dict", "model"):
        if isinstance(obj, Mapping) and isinstance(obj.get(wrapper), Mapping):
            obj = obj[wrapper]
    if not (isinstance(obj, Mapping) and obj
            and all(isinstance(k, str) and isinstance(v, Tensor) for k, v in obj.items())):
        raise WeightsError(
            f"weights file {path} holds a {type(obj).__name__}, not a state_dict of tensors; "
            "fix: save it with torch.save(model.state_dict(), path)")
    return obj


def load_pretrained(model: M, path: str | os.PathLike[str]) -> M:
    """Strictly load the state_dict in ``path`` into ``model`` (in place) and return it.

    Every model key must be in the file with the same shape and vice versa; only BatchNorm
    ``num_batches_tracked`` may be absent (pre-2018 files); the model's value is kept then.
    The model is left untouched when the file does not match.
    """
    path = Path(path)
    state = read_state_dict(path)
    expected = model.state_dict()
    untracked = [k for k in expected if k not in state and k.endswith("num_batches_tracked")]
    state = {**state, **{k: expected[k] for k in untracked}}
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong_shape = [f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}"
                   for k, v in expected.items() if k in state and state[k].shape != v.shape]
    problems = [f"{len(keys)} {what} ({_first(keys)})" for what, keys in
                (("missing keys", missing), ("unexpected keys", unexpected),
                 ("shape mismatches file vs model", wrong_shape)) if keys]
    if problems:
        raise WeightsError(
            f"weights file {path} does not fit {type(model).__name__}: {'; '.join(problems)}; "
            "fix: pass weights saved from this architecture (same num_classes), "
            "or use pretrained: none")
    model.load_state_dict(state, strict=True)
    return model
