"""Semantic judges and tools: hash judges, DHD augmentations, hash-based authentication."""

from .augment import dhd_augmentation
from .authentication import AuthenticationDistances, equal_error_rate, far_frr
from .hashing import HashJudge, compute_hashes

__all__ = ["AuthenticationDistances", "HashJudge", "compute_hashes", "dhd_augmentation",
           "equal_error_rate", "far_frr"]
