"""``task``: a task classifier (judge or frozen task network)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .checks import checked, image_size, in_range, int_at_least, positive, subset_of

DEGRADATIONS = ("blur", "jpeg", "noise")  # see semjscc.semantics.augment.Degrade


@dataclass
class TaskConfig:
    """A task classifier: the judge whose accuracy measures what survives transmission, or
    the frozen task network T of a task-aware loss. Trained on clean images by
    ``semjscc train-task`` (checkpoint kind ``classifier``)."""

    model: str = "resnet-tiny"  # a name registered in CLASSIFIERS
    # width of narrow models (None = the model's default)
    width: int | None = checked(None, check=int_at_least(1))
    pretrained: str = "none"  # none | imagenet | path to a weights file
    # resize inputs to this size first (224 for EfficientViT)
    input_size: int | None = checked(None, check=image_size(8))
    normalize: str = "imagenet"  # imagenet | none: input normalisation inside the model
    epochs: int = checked(5, check=int_at_least(1))
    batch_size: int = checked(64, check=int_at_least(1))
    optimizer: str = "adamw"  # adamw | adam | sgd
    lr: float = checked(1e-3, check=positive)
    weight_decay: float = checked(5e-4, check=in_range(0, math.inf))
    schedule: str = "cosine"  # cosine | step (StepLR(step_size, gamma)) | constant
    step_size: int = checked(7, check=int_at_least(1))
    gamma: float = checked(0.1, check=in_range(0, 1, low_open=True))
    # degradations of the clean training images, each with probability 1/2 (subset of
    # DEGRADATIONS; not applied when fine-tuning on reconstructions): a judge robust to blur
    degrade: list[str] = checked(factory=list, check=subset_of(*DEGRADATIONS))
    # the matched protocol: fine-tuning on reconstructions
    finetune_epochs: int = checked(2, check=int_at_least(1))
    finetune_lr: float | None = checked(None, check=positive)  # None: task.lr
    checkpoint: str | None = None  # trained classifier (best.pt) used by evaluation and losses
