"""Image-quality metrics on outputs clamped to [0, 1], kept per image; means over images.

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
from torchmetrics.functional.image import (
    multiscale_structural_similarity_index_measure,
    peak_signal_noise_ratio,
    structural_similarity_index_measure,
)

from .per_image import PerImage

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601, as OpenCV's BGR -> gray


def ms_ssim_betas(size: int, kernel_size: int = 11) -> tuple[float, ...]:
    """Scale weights usable for images whose shorter side is ``size`` pixels."""
    for n in range(len(MS_SSIM_WEIGHTS), 0, -1):
        if size >= 2**n and size // max(1, n - 1) ** 2 > kernel_size - 1:
            w = MS_SSIM_WEIGHTS[:n]
            return tuple(b / sum(w) for b in w)
    raise ValueError(f"images of {size} px are too small for MS-SSIM (need >= {kernel_size + 1})")


class ImagePSNR(PerImage):
    """PSNR per image with peak 1 (torchmetrics' functional PSNR over C, H, W)."""

    higher_is_better = True

    def score(self, preds: Tensor, target: Tensor) -> Tensor:
        return peak_signal_noise_ratio(preds, target, data_range=1.0, dim=(1, 2, 3),
                                       reduction="none")


class ImageSSIM(PerImage):
    """SSIM per image (torchmetrics' functional SSIM, 11×11 Gaussian window, sigma 1.5)."""

    higher_is_better = True

    def score(self, preds: Tensor, target: Tensor) -> Tensor:
        return structural_similarity_index_measure(preds, target, data_range=1.0,
                                                   reduction="none")


class GraySSIM(ImageSSIM):
    """SSIM per image of the BT.601 luma of RGB images (B, 3, H, W) in [0, 1]."""

    def score(self, preds: Tensor, target: Tensor) -> Tensor:
        weights = preds.new_tensor(LUMA).view(1, 3, 1, 1)
        return super().score((preds * weights).sum(1, keepdim=True),
                             (target * weights).sum(1, keepdim=True))


class ImageMSSSIM(PerImage):
    """MS-SSIM per image with the scale weights ``betas`` (see :func:`ms_ssim_betas`)."""

    higher_is_better = True

    def __init__(self, betas: tuple[float, ...], **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.betas = betas

    def score(self, preds: Tensor, target: Tensor) -> Tensor:
        return multiscale_structural_similarity_index_measure(
            preds, target, data_range=1.0, betas=self.betas, reduction="none")


def image_metrics(image_size: int) -> MetricCollection:
    """PSNR and MS-SSIM per-image metrics (DDP-aware) for ``image_size`` images."""
    return MetricCollection({"psnr": ImagePSNR(),
                             "ms_ssim": ImageMSSSIM(ms_ssim_betas(image_size))})


def reconstruction_metrics(image_size: int) -> MetricCollection:
    """PSNR, SSIM (RGB), grey-scale SSIM and, where the size allows, MS-SSIM, per image."""
    metrics: dict[str, Metric] = {"psnr": ImagePSNR(), "ssim": ImageSSIM(),
                                  "ssim_gray": GraySSIM()}
    try:
        metrics["ms_ssim"] = ImageMSSSIM(ms_ssim_betas(image_size))
    except ValueError:
        pass  # too small for MS-SSIM: the column stays empty
    return MetricCollection(metrics)


def update_clamped(metric: Metric | MetricCollection, target: Tensor, x_hat: Tensor) -> None:
    """Feed (prediction clamped to [0, 1], target) to a torchmetrics object."""
    metric.update(x_hat.detach().clamp(0.0, 1.0), target)
