"""Metrics as torchmetrics objects (with ``higher_is_better``): image quality (PSNR, SSIM,
grey SSIM, MS-SSIM, LPIPS), classification, hash alignment and Hamming-ranking mAP."""

from .classification import (
    ExpectedConfusion,
    LabelAgreement,
    TopLabelAccuracy,
    classification_metrics,
    confusion_matrix,
    confusion_scores,
)
from .hashing import HammingMAP, HashBitAgreement, HashCosine
from .image import GraySSIM, image_metrics, ms_ssim_betas, reconstruction_metrics
from .lpips import LPIPS, LPIPSMetric, load_lpips, lpips_available
from .retrieval import hamming_distance, mean_average_precision, to_codes

__all__ = [
    "ExpectedConfusion", "GraySSIM", "HammingMAP", "HashBitAgreement", "HashCosine", "LPIPS",
    "LPIPSMetric", "LabelAgreement", "TopLabelAccuracy", "classification_metrics",
    "confusion_matrix", "confusion_scores", "hamming_distance", "image_metrics", "load_lpips",
    "lpips_available", "mean_average_precision", "ms_ssim_betas", "reconstruction_metrics",
    "to_codes",
]
