"""LPIPS v0.1 with AlexNet ("alex"): the perceptual distance of Zhang et al. (CVPR 2018).

The network is the ``lpips`` package's ``LPIPS(net="alex", version="0.1")`` with its shipped
linear ("lin") weights; its AlexNet backbone must carry torchvision's ImageNet weights
``alexnet-owt-7be5be79.pth`` (looked up through :mod:`semjscc.models.pretrained`).

Convention (= ``lpips.LPIPS(net="alex")(x, y, normalize=True)`` and torchmetrics'
``LearnedPerceptualImagePatchSimilarity(net_type="alex", normalize=True)``): two (B, 3, H, W)
RGB batches in [0, 1], H, W >= 31; values outside [0, 1] by more than ``RANGE_TOL`` raise
``ValueError`` (clamping model outputs is the caller's job); one distance per image, shape
(B,); lower is better; identical images give 0.

The module is frozen (no parameter requires grad, always in eval mode) but differentiable
with respect to its inputs, so it also serves as a training loss. There is deliberately no
way to get LPIPS from a randomly initialised AlexNet through :func:`load_lpips` or
:func:`lpips_available`: they load the ImageNet file or fail.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from pathlib import Path

import lpips as lpips_package
import torch
import torchvision.models as tvm
from torch import Tensor, nn
from torchmetrics import Metric

from ..errors import describe
from ..models.pretrained import (
    WeightsError,
    hub_checkpoint_dir,
    imagenet_weights,
    load_pretrained,
    resolve_weights,
    weights_filename,
)

__all__ = ["LPIPS", "LPIPSMetric", "LPIPS_MIN_SIZE", "RANGE_TOL", "load_lpips",
           "lpips_available"]

ALEXNET_FILE = weights_filename("alexnet")  # alexnet-owt-7be5be79.pth
LPIPS_MIN_SIZE = 31  # smallest H, W for which AlexNet's relu5 map exists (1×1 there)
RANGE_TOL = 1e-4  # tolerated excursion outside [0, 1] before ValueError
# AlexNet ``features`` index -> the lpips package's slice holding it (relu1..relu5 taps).
_SLICE_OF_LAYER = {0: 1, 3: 2, 6: 3, 8: 4, 10: 5}


def _check_images(x: Tensor, y: Tensor) -> None:
    if x.ndim != 4 or x.shape[1] != 3 or x.shape != y.shape:
        raise ValueError(f"LPIPS expects two (B, 3, H, W) images of the same shape, got "
                         f"{tuple(x.shape)} and {tuple(y.shape)}")
    if min(x.shape[-2:]) < LPIPS_MIN_SIZE:
        raise ValueError(f"LPIPS (AlexNet) needs H, W >= {LPIPS_MIN_SIZE}, got "
                         f"{tuple(x.shape[-2:])}; fix: upsample the images or skip LPIPS")
    for name, t in (("first", x), ("second", y)):
        lo, hi = torch.aminmax(t.detach())
        if not (lo >= -RANGE_TOL and hi <= 1 + RANGE_TOL):  # also catches NaN
            raise ValueError(f"LPIPS expects images in [0, 1], the {name} has values in "
                             f"[{lo.item():.4g}, {hi.item():.4g}]; fix: clamp it to [0, 1]")


class LPIPS(nn.Module):
    """Frozen LPIPS v0.1 (AlexNet): ``forward(x, y)`` on (B, 3, H, W) in [0, 1] -> (B,).

    Args:
        alexnet_features: the state_dict of torchvision AlexNet's ``features`` (keys
            ``0.weight`` ... ``10.bias``) carrying the ImageNet weights (use
            :func:`load_lpips`; random weights are for tests only).

    Always in eval mode (``train()`` is a no-op), no parameter requires grad; gradients flow
    to the inputs. Inputs are cast to the module's dtype.
    """

    def __init__(self, alexnet_features: Mapping[str, Tensor]) -> None:
        super().__init__()
        with warnings.catch_warnings():  # the package asks torchvision for a random AlexNet
            warnings.simplefilter("ignore", UserWarning)
            self.net = lpips_package.LPIPS(net="alex", version="0.1", pnet_rand=True,
                                           verbose=False)
        mapped = {}
        for key, value in alexnet_features.items():
            layer, name = key.split(".", 1)
            mapped[f"slice{_SLICE_OF_LAYER[int(layer)]}.{layer}.{name}"] = value
        self.net.net.load_state_dict(mapped)
        self.requires_grad_(False)
        super().train(False)

    def train(self, mode: bool = True) -> LPIPS:
        """Stay in eval mode whatever ``mode`` is (no dropout, fixed behaviour)."""
        return super().train(False)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """(B, 3, H, W), (B, 3, H, W) in [0, 1] -> (B,) LPIPS distances (>= 0)."""
        _check_images(x, y)
        dtype = self.net.scaling_layer.shift.dtype
        return self.net(x.to(dtype), y.to(dtype), normalize=True).flatten()


def _without_fix(exc: BaseException) -> str:
    """A WeightsError's message without its project-generic '; fix: ...' advice."""
    return str(exc).split("; fix:", 1)[0]


def _cause(exc: BaseException) -> str:
    """What made a WeightsError (e.g. the failed download), else its own message."""
    cause = exc.__cause__
    return describe(cause) if cause is not None else _without_fix(exc)


def load_lpips(weights: str | os.PathLike[str] | None = "imagenet",
               device: torch.device | str | None = None) -> LPIPS:
    """LPIPS with torchvision's ImageNet AlexNet, on ``device`` (default CPU).

    ``weights``: "imagenet" (``alexnet-owt-7be5be79.pth`` in ``$TORCH_HOME/hub/checkpoints``,
    downloaded there if missing) or a path to that file. ``None``/"none" is refused: LPIPS
    from a random backbone is meaningless. Every failure is one ``WeightsError`` line.
    """
    cache = hub_checkpoint_dir()
    fix = (f"fix: put {ALEXNET_FILE} ({imagenet_weights('alexnet').url}) into "
           f"$TORCH_HOME/hub/checkpoints (now {cache}) or pass the file's path as the LPIPS "
           "weights")
    if weights is None or str(weights).lower() == "none":
        raise WeightsError(f"LPIPS needs the ImageNet AlexNet weights {ALEXNET_FILE}, got "
                           f"weights={weights!r} (random weights are not LPIPS); {fix}")
    try:
        path = resolve_weights("alexnet", weights)
    except WeightsError as exc:
        where = (f"not in {cache}" if str(weights).lower() == "imagenet"
                 else f"not found at {Path(weights).expanduser()}")
        raise WeightsError(f"LPIPS unavailable: AlexNet weights {ALEXNET_FILE} {where} "
                           f"({_cause(exc)}); {fix}") from exc
    assert path is not None  # only None/"none" resolve to None, refused above
    try:
        alexnet = load_pretrained(tvm.alexnet(weights=None), path)
    except WeightsError as exc:
        raise WeightsError(f"LPIPS unavailable: {_without_fix(exc)}; {fix}") from exc
    return LPIPS(alexnet.features.state_dict()).to(device or "cpu")


def lpips_available(weights: str | os.PathLike[str] | None = "imagenet",
                    device: torch.device | str | None = None) -> tuple[LPIPS | None, str | None]:
    """``(model, None)`` or ``(None, message)``: the one-line reason LPIPS is unavailable and
    how to provide the AlexNet file. Callers then leave the ``lpips`` column empty."""
    try:
        return load_lpips(weights, device), None
    except WeightsError as exc:
        return None, f"{exc}; the lpips column is left empty"


class LPIPSMetric(Metric):
    """Mean LPIPS over all images seen (torchmetrics, DDP-aware: sums reduced by "sum").

    ``update(preds, target)``: (B, 3, H, W) each, in [0, 1] (clamp ``preds`` first;
    out-of-range input raises ``ValueError``). ``compute()``: mean per-image LPIPS.
    """

    higher_is_better = False
    is_differentiable = True
    full_state_update = False

    sum_scores: Tensor
    total: Tensor

    def __init__(self, net: LPIPS, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        if not isinstance(net, LPIPS):
            raise TypeError(f"LPIPSMetric needs an LPIPS module, got {type(net).__name__}")
        self.net = net
        self.add_state("sum_scores", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("total", torch.tensor(0), dist_reduce_fx="sum")

    def update(self, preds: Tensor, target: Tensor) -> None:
        scores = self.net(preds, target)
        self.sum_scores += scores.sum().double()
        self.total += scores.numel()

    def compute(self) -> Tensor:
        return (self.sum_scores / self.total).float()
