"""Semantic judges and tools: hash and classifier judges, DHD augmentations, hash-based
authentication. A judge scores reconstructions with a frozen network: ``metrics()`` gives
a ``MetricCollection`` and ``inputs(x, x_hat, labels)`` its keyword inputs."""

from typing import Protocol

from torch import Tensor
from torchmetrics import MetricCollection

from .augment import Degrade, dhd_augmentation
from .authentication import AuthenticationDistances, equal_error_rate, far_frr
from .hashing import HashJudge, compute_hashes
from .task import ClassifierJudge


class Judge(Protocol):
    """What evaluation needs from a judge (see :class:`HashJudge`, :class:`ClassifierJudge`)."""

    def metrics(self) -> MetricCollection: ...

    def inputs(self, x: Tensor, x_hat: Tensor, labels: Tensor) -> dict[str, Tensor]: ...


__all__ = ["AuthenticationDistances", "ClassifierJudge", "Degrade", "HashJudge", "Judge",
           "compute_hashes", "dhd_augmentation", "equal_error_rate", "far_frr"]
