"""Augmentations batched on the images' device with kornia: DHD's teacher/student pipeline
and the degradations a task classifier may train with.

DHD: one SimCLR-like pipeline whose *probabilities* are scaled by a strength A_w (the strengths of
the operations never change): RandomResizedCrop (p = A_w, decided per batch as in DHD's
official code), horizontal flip (0.5·A_w), colour jitter 0.4/0.8/0.8/0.2 (0.8·A_w,
torchvision-style as in kornia >= 0.7), grayscale (0.2·A_w), Gaussian blur with a
(0.1·size, odd) kernel and sigma ~ U[0.1, 2] (0.5·A_w). Randomness comes from torch's global
generator, so ``seed_everything`` makes it reproducible and checkpoints capture it.

Degradations (``task.degrade``, our choice of strengths): each named one applied to an image
with probability ½, in this order: ``blur`` (Gaussian, σ ~ U[0.1, 2.5] px, 11×11 kernel),
``jpeg`` (differentiable JPEG, quality ~ U[20, 90]) and ``noise`` (additive Gaussian, σ =
0.05); the result is clamped to [0, 1]. They make a classifier trained on clean images judge
blurred or noisy reconstructions less harshly.
"""

from __future__ import annotations

import kornia.augmentation as K
from torch import Tensor, nn

from ..config.task import DEGRADATIONS


def dhd_augmentation(image_size: int, strength: float,
                     crop_scale: tuple[float, float] = (0.08, 1.0)) -> nn.Module:
    """The augmentation pipeline at strength A_w for square images of ``image_size`` px;
    ``crop_scale`` is RandomResizedCrop's range of kept area."""
    kernel = max(3, int(0.1 * image_size) // 2 * 2 + 1)
    return nn.Sequential(
        K.RandomResizedCrop((image_size, image_size), scale=tuple(crop_scale),
                            p=min(1.0, strength)),
        K.RandomHorizontalFlip(p=0.5 * strength),
        K.ColorJitter(0.4, 0.8, 0.8, 0.2, p=0.8 * strength),
        K.RandomGrayscale(p=0.2 * strength),
        K.RandomGaussianBlur((kernel, kernel), (0.1, 2.0), p=0.5 * strength),
    )


class Degrade(nn.Module):
    """The named degradations (a subset of :data:`DEGRADATIONS`, applied in that order) on
    (B, 3, H, W) images in [0, 1]; output clamped to [0, 1]."""

    def __init__(self, names: list[str]) -> None:
        super().__init__()
        ops = {"blur": lambda: K.RandomGaussianBlur((11, 11), (0.1, 2.5), p=0.5),
               "jpeg": lambda: K.RandomJPEG(jpeg_quality=(20.0, 90.0), p=0.5),
               "noise": lambda: K.RandomGaussianNoise(std=0.05, p=0.5)}
        self.ops = nn.Sequential(*[ops[n]() for n in DEGRADATIONS if n in names])

    def forward(self, x: Tensor) -> Tensor:
        return self.ops(x).clamp(0.0, 1.0)
