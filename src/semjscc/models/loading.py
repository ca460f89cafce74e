"""Rebuilding any saved model from its checkpoint alone (no dataset, no flags)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..checkpoint import load_checkpoint
from ..config import Config, ModelConfig, load_config
from ..errors import CheckpointError, ConfigError, describe
from ..registry import MODELS
from .base import HopCodecs, JSCCModel
from .classifiers import classifier_from_state_dict
from .dhd import dhd_from_state_dict


def create_model(cfg: ModelConfig) -> JSCCModel:
    """A freshly initialised DeepJSCC pair named ``cfg.name`` (see ``MODELS.names()``)."""
    return MODELS.get(cfg.name).from_config(cfg)


def _valid(tree: dict) -> bool:
    """Whether a checkpoint's stored config loads as it is."""
    try:
        load_config(None, base=tree)
    except ConfigError:
        return False
    return True


def load(path: str | Path, overrides: list[str] | None = None,
         device: torch.device | str = "cpu", kind: str | None = None) -> tuple[nn.Module, Config]:
    """The model saved in checkpoint ``path`` (eval mode, on ``device``) and its config.

    The sizes come from the weights (``from_state_dict``), the architecture names from the
    embedded config with ``overrides`` (``key=value``) applied first; ``kind`` (deepjscc,
    dhd, classifier) makes a checkpoint of another kind an error. A DHD or a classifier is
    returned frozen.
    """
    ckpt = load_checkpoint(path, kind=kind)
    try:
        cfg = load_config(None, overrides, base=ckpt["config"])
    except ConfigError as exc:
        if overrides and _valid(ckpt["config"]):
            raise  # an override's fault
        raise CheckpointError(f"checkpoint {path}: its stored config is not valid ({exc}); "
                              "it was edited or written by another version: retrain") from None
    state = ckpt["model"]
    try:
        if ckpt["kind"] == "dhd":
            model: nn.Module = dhd_from_state_dict(state, cfg.dhd).requires_grad_(False)
        elif ckpt["kind"] == "classifier":
            model = classifier_from_state_dict(state, cfg.task).requires_grad_(False)
        elif cfg.link.shared_codec:
            model = MODELS.get(cfg.model.name).from_state_dict(state)
        else:
            model = HopCodecs.from_state_dict(state, MODELS.get(cfg.model.name))
    except (KeyError, RuntimeError, ValueError, IndexError) as exc:
        raise CheckpointError(f"checkpoint {path}: its weights do not fit the {ckpt['kind']} "
                              f"model its config describes ({describe(exc)}); "
                              "it was edited or written by another version: retrain") from None
    return model.to(device).eval(), cfg
