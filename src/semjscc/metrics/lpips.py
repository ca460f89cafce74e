"""LPIPS v0.1 with AlexNet ("alex"): the perceptual distance of Zhang et al. (CVPR 2018).

Backbone: the project's own :class:`~semjscc.models.backbones.AlexNet`, which must carry the
official ImageNet weights ``alexnet-owt-7be5be79.pth`` (the file torchvision, the ``lpips``
package and torchmetrics all use). Linear ("lin") layers: the v0.1 ``alex.pth`` that
torchmetrics ships as package data (bit-identical to the ``lpips`` package's file).

Convention (= ``lpips.LPIPS(net="alex")(x, y, normalize=True)`` and torchmetrics'
``LearnedPerceptualImagePatchSimilarity(net_type="alex", normalize=True)``):

* inputs: two (B, 3, H, W) RGB batches of the same shape, values in [0, 1], H, W >= 31;
  values outside [0, 1] by more than ``RANGE_TOL`` raise ``ValueError`` (clamping model
  outputs to [0, 1] is the caller's job);
* x -> 2x − 1, then the LPIPS scaling layer (x − shift) / scale;
* relu1..relu5 of AlexNet for both images, each unit-normalised over channels as
  f / sqrt(eps + Σ_c f²) (eps 1e-8, torchmetrics' gradient-safe form);
* squared difference, non-negative 1×1 "lin" layer (no bias), spatial mean, sum of the
  5 layers -> one distance per image, shape (B,). Lower is better; identical images give 0.

The module is frozen (no parameter requires grad, always in eval mode) but differentiable
with respect to its inputs, so it can serve as a training loss. There is deliberately no
way to get LPIPS from a randomly initialised AlexNet except by passing one to
:class:`LPIPS` yourself (tests): :func:`load_lpips` and :func:`lpips_available` always
load the ImageNet file or fail.
"""

from __future__ import annotations

import importlib.resources
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchmetrics import Metric

from ..models.backbones import AlexNet
from ..models.pretrained import (
    OFFICIAL_WEIGHTS,
    WeightsError,
    hub_checkpoint_dir,
    load_pretrained,
    resolve_weights,
)

__all__ = ["LPIPS", "LPIPSMetric", "LPIPS_MIN_SIZE", "RANGE_TOL", "load_lin_weights",
           "load_lpips", "lpips_available", "lpips_lin_path"]

ALEXNET_FILE = OFFICIAL_WEIGHTS["alexnet"].filename  # alexnet-owt-7be5be79.pth
LPIPS_MIN_SIZE = 31  # smallest H, W for which AlexNet's relu5 map exists (1×1 there)
RANGE_TOL = 1e-4  # tolerated excursion outside [0, 1] before ValueError
_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)
_LIN_KEYS = tuple(f"lin{i}.model.1.weight" for i in range(len(AlexNet.lpips_channels)))


def lpips_lin_path() -> Path:
    """Path of the v0.1 AlexNet lin weights shipped with torchmetrics (``alex.pth``)."""
    return Path(str(importlib.resources.files("torchmetrics.functional.image")
                    / "lpips_models" / "alex.pth"))


def load_lin_weights(path: str | os.PathLike[str] | None = None) -> list[Tensor]:
    """The five lin weights, shapes (1, C, 1, 1) with C = 64, 192, 384, 256, 256.

    ``path`` defaults to :func:`lpips_lin_path`; keys are ``lin{0..4}.model.1.weight``.
    """
    path = lpips_lin_path() if path is None else Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(
            f"cannot read the LPIPS lin weights {path} ({type(exc).__name__}); fix: reinstall "
            "torchmetrics (it ships lpips_models/alex.pth) or pass a valid alex.pth") from exc
    return _check_lin(state, str(path))


def _check_lin(lin: Sequence[Tensor] | Mapping[str, Tensor], source: str) -> list[Tensor]:
    if isinstance(lin, Mapping):
        missing = [k for k in _LIN_KEYS if k not in lin]
        if missing:
            raise WeightsError(
                f"LPIPS lin weights {source} lack {', '.join(missing)}; fix: use the v0.1 "
                "alex.pth of torchmetrics or of the lpips package")
        lin = [lin[k] for k in _LIN_KEYS]
    weights = [torch.as_tensor(w).detach().float() for w in lin]
    shapes = [tuple(w.shape) for w in weights]
    expected = [(1, c, 1, 1) for c in AlexNet.lpips_channels]
    if shapes != expected:
        raise WeightsError(
            f"LPIPS lin weights {source} have shapes {shapes}, expected {expected}; fix: use "
            "the v0.1 alex.pth of torchmetrics or of the lpips package")
    return weights


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
        backbone: an AlexNet carrying the ImageNet weights (use :func:`load_lpips`; passing
            a randomly initialised one is for tests only). It is used in place (frozen, its
            classifier stays unused); pass one with ``classifier`` stripped to save memory.
        lin: the five lin weights (list or ``alex.pth`` state_dict); default: torchmetrics'.
        eps: added under the square root of the channel-norm.

    Always in eval mode (``train()`` is a no-op), no parameter requires grad; gradients flow
    to the inputs. Works on any device/dtype the module is moved to; inputs are cast to the
    module's dtype.
    """

    shift: Tensor
    scale: Tensor

    def __init__(self, backbone: AlexNet,
                 lin: Sequence[Tensor] | Mapping[str, Tensor] | None = None,
                 eps: float = 1e-8) -> None:
        super().__init__()
        if not isinstance(backbone, AlexNet):
            raise TypeError(f"LPIPS needs a semjscc AlexNet, got {type(backbone).__name__}")
        weights = load_lin_weights() if lin is None else _check_lin(lin, "given")
        self.net = backbone
        for i, w in enumerate(weights):
            self.register_buffer(f"lin{i}", w.clone())
        self.register_buffer("shift", torch.tensor(_SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(_SCALE).view(1, 3, 1, 1), persistent=False)
        self.eps = eps
        self.requires_grad_(False)
        super().train(False)

    def train(self, mode: bool = True) -> LPIPS:
        """Stay in eval mode whatever ``mode`` is (no dropout, fixed behaviour)."""
        return super().train(False)

    def _lins(self) -> list[Tensor]:
        return [getattr(self, f"lin{i}") for i in range(len(_LIN_KEYS))]

    def _features(self, x: Tensor) -> list[Tensor]:
        x = ((2 * x - 1) - self.shift) / self.scale
        return [f / torch.sqrt(self.eps + f.pow(2).sum(dim=1, keepdim=True))
                for f in self.net.lpips_features(x)]

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """(B, 3, H, W), (B, 3, H, W) in [0, 1] -> (B,) LPIPS distances (>= 0)."""
        _check_images(x, y)
        x, y = x.to(self.shift.dtype), y.to(self.shift.dtype)
        distance = x.new_zeros(x.shape[0])
        for fx, fy, w in zip(self._features(x), self._features(y), self._lins(), strict=True):
            distance = distance + F.conv2d((fx - fy).pow(2), w).mean(dim=(1, 2, 3))
        return distance


def _reason(exc: BaseException) -> str:
    """The cause of a WeightsError without its project-generic '; fix: ...' advice."""
    cause = exc.__cause__
    if cause is not None:
        lines = [ln.strip() for ln in str(cause).splitlines() if ln.strip()]
        return f"{type(cause).__name__}: {lines[0] if lines else 'no message'}"
    return str(exc).split("; fix:", 1)[0]


def load_lpips(weights: str | os.PathLike[str] | None = "imagenet",
               device: torch.device | str | None = None) -> LPIPS:
    """LPIPS with the official ImageNet AlexNet, on ``device`` (default CPU).

    ``weights``: "imagenet" (``alexnet-owt-7be5be79.pth`` in ``$TORCH_HOME/hub/checkpoints``,
    downloaded there if missing) or a path to that file. ``None``/"none" is refused: LPIPS
    from a random backbone is meaningless. Every failure is one ``WeightsError`` line.
    """
    cache = hub_checkpoint_dir()
    fix = (f"fix: put {ALEXNET_FILE} ({OFFICIAL_WEIGHTS['alexnet'].url}) into "
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
                           f"({_reason(exc)}); {fix}") from exc
    assert path is not None  # only None/"none" resolve to None, refused above
    try:
        backbone = load_pretrained(AlexNet(), path)
    except WeightsError as exc:
        raise WeightsError(f"LPIPS unavailable: {_reason(exc)}; {fix}") from exc
    backbone.classifier = nn.Identity()  # type: ignore[assignment]  # LPIPS uses features only
    return LPIPS(backbone).to(device or "cpu")


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

    ``update(preds, target)``: (B, 3, H, W) each, in [0, 1]; clamp ``preds`` to [0, 1]
    before (e.g. ``semjscc.metrics.image.update_clamped``), out-of-range input raises
    ``ValueError``. ``compute()``: mean per-image LPIPS. Call under ``torch.no_grad()`` in
    evaluation; for a training loss use the :class:`LPIPS` module directly.
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
        self.add_state("sum_scores", torch.tensor(0.0), dist_reduce_fx="sum")
        self.add_state("total", torch.tensor(0), dist_reduce_fx="sum")

    def update(self, preds: Tensor, target: Tensor) -> None:
        scores = self.net(preds, target)
        self.sum_scores += scores.sum()
        self.total += scores.numel()

    def compute(self) -> Tensor:
        return self.sum_scores / self.total
