"""Semantic modules: Deep Hash Distillation, its augmentations, hash-based authentication."""

from .augment import dhd_augmentation
from .dhd import DHD, HashHead, compute_hashes, create_dhd, hash_cosine, load_dhd

__all__ = ["DHD", "HashHead", "compute_hashes", "create_dhd", "dhd_augmentation",
           "hash_cosine", "load_dhd"]
