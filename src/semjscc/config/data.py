"""``data``: where images come from."""

from __future__ import annotations

from dataclasses import dataclass, field

from .checks import checked, image_size, in_range, int_at_least, one_of, seed


@dataclass
class DataConfig:
    """Where images come from. ``kind``: a registered dataset kind, e.g. ``synthetic`` (built
    in), ``list`` (NUS-WIDE style list files) or ``folder`` (one class per sub-folder, e.g.
    EuroSAT)."""

    kind: str = "synthetic"
    image_size: int = checked(32, check=image_size(8))
    root: str | None = None
    # list kind: split name -> list file (relative to ``root`` or absolute)
    lists: dict[str, str] = field(default_factory=dict)
    num_classes: int | None = None
    # carved from train when no val list / folder split
    val_fraction: float = checked(0.1, check=in_range(0, 1, high_open=True))
    test_fraction: float = checked(0.2, check=in_range(0, 1, high_open=True))  # folder kind
    on_bad_image: str = checked("skip", check=one_of("skip", "error"))
    # synthetic kind: images per split
    num_images: dict[str, int] = field(
        default_factory=lambda: {"train": 2000, "val": 200, "test": 200, "db": 1000}
    )
    num_workers: int = checked(0, check=int_at_least(0))
    seed: int = checked(0, check=seed)
