"""What the single-hop studies (EO, semantic importance) share: the Bourtsoulatze DJSCC at a
requested compression ratio, run-directory names of ratios, the ratio columns of a result
row and the evaluation split."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Config, ModelConfig, parse_ratio
from ..data import build_dataset, make_loader
from ..data.errors import DataError
from ..errors import ConfigError
from ..models import JSCCModel, create_model

DJSCC_MODEL = "bourtsoulatze2019-djscc"


def djscc_model(ratio: str) -> dict[str, Any]:
    """The ``model`` section of the DJSCC for the requested ratio ``ratio`` (``"1/20"``), as
    :func:`semjscc.config.derive` takes it."""
    return {"name": DJSCC_MODEL, "num_features": None, "bandwidth_ratio": ratio}


def djscc_for(ratio: str) -> JSCCModel:
    """An (untrained) DJSCC for ``ratio``: its realised ratio and k per image."""
    return create_model(ModelConfig(**djscc_model(ratio)))


def ratio_slug(ratio: str) -> str:
    """``"1/20"`` -> ``"cr1_20"`` (run-directory names)."""
    r = parse_ratio(ratio)
    return f"cr{r.numerator}_{r.denominator}"


def ratio_columns(model: JSCCModel, ratio: str, size: int) -> dict[str, Any]:
    """``requested_cr``, ``realized_cr`` and ``k`` of ``model`` at ``size``² images."""
    return {"requested_cr": ratio, "realized_cr": float(model.bandwidth_ratio()),
            "k": model.num_symbols(size, size)}


def check_single_label_data(cfg: Config, study: str) -> None:
    """Refuse, in one line, data that a study scoring single-label classification cannot
    use: a missing split (the data error, prefixed) or multi-hot labels."""
    try:
        for split in ("train", "val", "test"):
            dataset = build_dataset(cfg.data, split)
    except DataError as exc:
        raise DataError(f"reproduce cannot start: {exc}") from None
    if dataset.multi_label:
        raise ConfigError(f"data.kind={cfg.data.kind} has multi-hot labels; the {study} "
                          "experiment scores single-label classification (e.g. eurosat, "
                          "synthetic-eo, cifar10)")


def test_loader(cfg: Config) -> Any:
    """The evaluation split in a fixed order, batches of ``train.eval_batch_size``."""
    return make_loader(build_dataset(cfg.data, cfg.eval.split), cfg.train.eval_batch_size,
                       shuffle=False, seed=cfg.eval.seed, num_workers=cfg.data.num_workers)


@dataclass
class SingleHopPlan:
    """The plan of a single-hop study: its config, output folder, DJSCC runs, and the task
    classifier trained on clean images (OUT/task/)."""

    cfg: Config
    out: Path
    runs: list[Any] = field(default_factory=list)

    @property
    def task_dir(self) -> Path:
        return self.out / "task"

    @property
    def task_checkpoint(self) -> Path:
        return self.task_dir / "best.pt"
