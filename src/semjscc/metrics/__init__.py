"""Metrics: image quality (torchmetrics-backed) and Hamming-ranking retrieval mAP."""

from .image import image_metrics, ms_ssim_betas
from .retrieval import hamming_distance, mean_average_precision, to_codes

__all__ = ["hamming_distance", "image_metrics", "mean_average_precision", "ms_ssim_betas",
           "to_codes"]
