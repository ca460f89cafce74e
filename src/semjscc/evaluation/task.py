"""Classification quality of a task classifier checkpoint, on clean images or on
reconstructions (the *mismatched* protocol), with per-class tables."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import Dataset

from ..data import build_dataset, make_loader
from ..device import resolve_device
from ..errors import CheckpointError
from ..metrics import classification_metrics, confusion_matrix
from ..models import load
from ..semantics import ClassifierJudge
from .evaluate import Suite, evaluate_system
from .results import IMAGES

Reconstruct = Callable[[Tensor, torch.Generator], Tensor]


def multi_hot_labels(dataset: Dataset) -> bool:
    """Whether ``dataset``'s labels are multi-hot (BCE; top-label accuracy) rather than
    one-hot (cross-entropy; weighted precision/recall/F1 too)."""
    return bool(dataset.multi_label)


def check_class_count(trained: int, data: int, path: str | Path, where: str) -> None:
    """A CheckpointError naming both counts when the classifier in ``path`` was trained on
    ``trained`` classes but the data (``where``) has ``data``."""
    if trained != data:
        raise CheckpointError(
            f"checkpoint {path} is a classifier of {trained} classes, but the {where} has "
            f"{data} classes; evaluate it on the data it was trained on (drop the --set "
            "data.* overrides) or train a classifier on this data with train-task")


def evaluate_task(path: str | Path, split: str = "test", overrides: list[str] | None = None,
                  device: str = "auto", reconstruct: Reconstruct | None = None,
                  seed: int | None = None) -> dict[str, Any]:
    """Classification quality of the classifier checkpoint ``path`` on ``split``.

    Returns ``accuracy`` (and ``precision_w``, ``recall_w``, ``f1_w`` for single-label
    data), ``confusion_matrix`` (nested lists: (C, C) rows = true class, columns = predicted
    class; (C, 2, 2) [[TN, FP], [FN, TP]] per class for multi-hot labels), ``class_names``,
    ``multi_label``, ``n_images``, ``split``, ``seed`` and ``checkpoint``. With
    ``reconstruct(x, generator)`` the classifier judges the reconstructions (noise seeded by
    ``seed``, default ``eval.seed``) and ``label_agreement`` is added.
    """
    dev = resolve_device(device)
    model, cfg = load(path, overrides, dev, kind="classifier")
    dataset = build_dataset(cfg.data, split)
    check_class_count(model.num_classes, len(dataset.class_names), path,
                      f"split {split!r} of data.kind={cfg.data.kind}")
    multi = multi_hot_labels(dataset)
    seed = cfg.eval.seed if seed is None else seed
    loader = make_loader(dataset, cfg.train.eval_batch_size, shuffle=False, seed=seed,
                         num_workers=cfg.data.num_workers)
    if reconstruct is None:
        metrics = classification_metrics(model.num_classes, multi)
        suite = Suite(metrics, lambda x, x_hat, labels: {"preds": model(x_hat), "labels": labels})
    else:
        judge = ClassifierJudge(model, multi, model.num_classes)
        metrics = judge.metrics()
        suite = Suite(metrics, judge.inputs)
    metrics.add_metrics({"confusion_matrix": confusion_matrix(model.num_classes, multi)})
    metrics.to(dev)
    result = evaluate_system(reconstruct or (lambda x, g: x), loader, [suite], dev, seed,
                             desc=f"eval-task {split}")
    result.pop(IMAGES, None)  # a summary: the per-image hits are not kept
    result["confusion_matrix"] = result["confusion_matrix"].tolist()
    return {**result, "class_names": list(dataset.class_names), "multi_label": multi,
            "split": split, "seed": seed, "checkpoint": str(path)}


def per_class_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Per-class ``support``, ``precision``, ``recall`` (= the class's accuracy for one-hot
    labels) and ``f1`` from an :func:`evaluate_task` result's confusion matrix, with the
    predicted-class counts (one-hot) or TN/FP/FN/TP (multi-hot), then an ``all`` row with the
    overall numbers (weighted averages for one-hot labels)."""
    cm = torch.tensor(result["confusion_matrix"], dtype=torch.float64)
    names = result["class_names"]
    if result["multi_label"]:
        tp, fp, fn = cm[:, 1, 1], cm[:, 0, 1], cm[:, 1, 0]
        counts = [{"tn": int(c[0, 0]), "fp": int(c[0, 1]), "fn": int(c[1, 0]),
                   "tp": int(c[1, 1])} for c in cm]
    else:
        tp, fp, fn = cm.diag(), cm.sum(0) - cm.diag(), cm.sum(1) - cm.diag()
        counts = [{f"pred_{name}": int(v) for name, v in zip(names, row)} for row in cm]
    precision = (tp / (tp + fp)).nan_to_num(0.0)
    recall = (tp / (tp + fn)).nan_to_num(0.0)
    f1 = (2 * precision * recall / (precision + recall)).nan_to_num(0.0)
    rows = [{"class": name, "support": int(tp[i] + fn[i]), "accuracy": None,
             "precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
             **counts[i]} for i, name in enumerate(names)]
    overall: dict[str, Any] = {"class": "all", "support": result["n_images"],
                               "accuracy": result["accuracy"]}
    if not result["multi_label"]:
        for row in rows:
            row["accuracy"] = row["recall"]
        overall.update({"precision": result["precision_w"], "recall": result["recall_w"],
                        "f1": result["f1_w"],
                        **{f"pred_{name}": int(v) for name, v in zip(names, cm.sum(0))}})
    return rows + [overall]
