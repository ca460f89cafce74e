"""Image-quality metrics on outputs clamped to [0, 1]; means over images.

PSNR is computed per image, −10·log10(mean((S − Ŝ)²)) with peak 1, then averaged.
SSIM (torchmetrics, 11×11 Gaussian window, sigma 1.5) is computed on RGB (``ssim``) and,
as the Earth-observation authors do, on grey-scale images (``ssim_gray``: luma
Y = 0.299 R + 0.587 G + 0.114 B, the ITU-R BT.601 weights OpenCV uses). MS-SSIM uses the
same window and the standard five-scale weights, truncated to the largest number of scales
the image size allows and renormalised (256 px: 5 scales; 64 px: 3; 32 px: 2).
"""

from __future__ import annotations

from torch import Tensor
from torchmetrics import Metric, MetricCollection
from torchmetrics.image import (
    MultiScaleStructuralSimilarityIndexMeasure,
    PeakSignalNoiseRatio,
    StructuralSimilarityIndexMeasure,
)

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601, as OpenCV's BGR -> gray


def ms_ssim_betas(size: int, kernel_size: int = 11) -> tuple[float, ...]:
    """Scale weights usable for images whose shorter side is ``size`` pixels."""
    for n in range(len(MS_SSIM_WEIGHTS), 0, -1):
        if size >= 2**n and size // max(1, n - 1) ** 2 > kernel_size - 1:
            w = MS_SSIM_WEIGHTS[:n]
            return tuple(b / sum(w) for b in w)
    raise ValueError(f"images of {size} px are too small for MS-SSIM (need >= {kernel_size + 1})")


def image_metrics(image_size: int) -> MetricCollection:
    """PSNR and MS-SSIM metric objects (torchmetrics, DDP-aware) for ``image_size`` images."""
    return MetricCollection({
        "psnr": PeakSignalNoiseRatio(data_range=1.0, dim=(1, 2, 3), reduction="elementwise_mean"),
        "ms_ssim": MultiScaleStructuralSimilarityIndexMeasure(
            data_range=1.0, betas=ms_ssim_betas(image_size)
        ),
    })


class GraySSIM(StructuralSimilarityIndexMeasure):
    """SSIM of the BT.601 luma of RGB images (B, 3, H, W) in [0, 1]."""

    def update(self, preds: Tensor, target: Tensor) -> None:  # type: ignore[override]
        weights = preds.new_tensor(LUMA).view(1, 3, 1, 1)
        super().update((preds * weights).sum(1, keepdim=True),
                       (target * weights).sum(1, keepdim=True))


def reconstruction_metrics(image_size: int) -> MetricCollection:
    """PSNR, SSIM (RGB), grey-scale SSIM and, where the size allows, MS-SSIM."""
    metrics = {
        "psnr": PeakSignalNoiseRatio(data_range=1.0, dim=(1, 2, 3), reduction="elementwise_mean"),
        "ssim": StructuralSimilarityIndexMeasure(data_range=1.0),
        "ssim_gray": GraySSIM(data_range=1.0),
    }
    try:
        metrics["ms_ssim"] = MultiScaleStructuralSimilarityIndexMeasure(
            data_range=1.0, betas=ms_ssim_betas(image_size))
    except ValueError:
        pass  # too small for MS-SSIM: the column stays empty
    return MetricCollection(metrics)


def update_clamped(metric: Metric | MetricCollection, target: Tensor, x_hat: Tensor) -> None:
    """Feed (prediction clamped to [0, 1], target) to a torchmetrics object."""
    metric.update(x_hat.detach().clamp(0.0, 1.0), target)
