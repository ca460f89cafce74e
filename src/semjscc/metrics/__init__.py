"""Metrics as torchmetrics objects (with ``higher_is_better``): image quality (PSNR, SSIM,
grey SSIM, MS-SSIM, LPIPS), classification, hash alignment and Hamming-ranking mAP. Most
keep every image's score (:class:`PerImage`), for bootstrap intervals over test images."""

from .classification import (
    ExpectedAccuracy,
    ExpectedConfusion,
    LabelAgreement,
    TopLabelAccuracy,
    classification_metrics,
    confusion_matrix,
    confusion_scores,
)
from .hashing import HammingMAP, HashBitAgreement, HashCosine
from .image import (
    GraySSIM,
    ImageMSSSIM,
    ImagePSNR,
    ImageSSIM,
    image_metrics,
    ms_ssim_betas,
    reconstruction_metrics,
)
from .lpips import LPIPS, LPIPSMetric, load_lpips, lpips_available
from .per_image import PerImage
from .retrieval import hamming_distance, mean_average_precision, to_codes

__all__ = [
    "ExpectedAccuracy", "ExpectedConfusion", "GraySSIM", "HammingMAP", "HashBitAgreement",
    "HashCosine", "ImageMSSSIM", "ImagePSNR", "ImageSSIM", "LPIPS", "LPIPSMetric",
    "LabelAgreement", "PerImage", "TopLabelAccuracy", "classification_metrics",
    "confusion_matrix", "confusion_scores", "hamming_distance", "image_metrics", "load_lpips",
    "lpips_available", "mean_average_precision", "ms_ssim_betas", "reconstruction_metrics",
    "to_codes",
]
