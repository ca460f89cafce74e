"""Experiment configuration: dataclasses, one YAML per experiment, ``--set`` overrides on top.

Precedence: dataclass defaults < YAML file < ``--set section.key=value``. Unknown keys are
errors that name the key and the valid choices. The resolved config is saved with every
run and embedded in every checkpoint, so a checkpoint rebuilds its model without flags.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import types
import typing
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar, Union

import yaml

from .errors import ConfigError, describe
from .files import write_text

C = TypeVar("C")

# The paper's five quantize-and-forward settings N_Q:b (1.5, 2, 2.5, 3, 4 bpp at 256x256).
PAPER_QF_SETTINGS: tuple[str, ...] = ("4:0.75", "2:1", "4:1.25", "2:1.5", "2:2")

# Keys of earlier versions: what replaced them.
RENAMED = {
    "train.method": "train.loss, e.g. train.loss={mse: 1.0, dhd: 0.06} for mse+dhd",
    "train.semantic_weight": "the dhd weight in train.loss, e.g. train.loss={mse: 1.0, dhd: 0.06}",
    "train.lpips_weight": "the lpips weight in train.loss, e.g. train.loss={mse: 1.0, lpips: 0.1}",
    "train.dhd_checkpoint": "dhd.checkpoint (the DHD of the dhd loss term and hash metrics)",
    "link.protocol": "nothing: DF is the training link and QF is `semjscc eval --protocol qf`",
}


@dataclass
class DataConfig:
    """Where images come from. ``kind``: ``synthetic`` (built in), ``list`` (NUS-WIDE style
    list files) or ``folder`` (one class per sub-folder, e.g. EuroSAT)."""

    kind: str = "synthetic"
    image_size: int = 32
    root: str | None = None
    # list kind: split name -> list file (relative to ``root`` or absolute)
    lists: dict[str, str] = field(default_factory=dict)
    num_classes: int | None = None
    val_fraction: float = 0.1  # carved from train when no val list / folder split
    test_fraction: float = 0.2  # folder kind only
    on_bad_image: str = "skip"  # skip | error
    # synthetic kind: images per split
    num_images: dict[str, int] = field(
        default_factory=lambda: {"train": 2000, "val": 200, "test": 200, "db": 1000}
    )
    num_workers: int = 0
    seed: int = 0


@dataclass
class ModelConfig:
    """The DeepJSCC pair: a registered model name, its width N (None: the model's default)
    and the bandwidth (compression) ratio ρ = k / (3·H·W) it is built for."""

    name: str = "yilmaz2023-deepjscc"
    num_features: int | None = None
    bandwidth_ratio: str = "1/3"


@dataclass
class LinkConfig:
    """The multi-hop link: ``relays`` DF relays, hence ``relays + 1`` hops over ``channel``
    (a mapping: ``name`` of a registered channel plus its options, e.g.
    ``{name: rician, k_factor: 100, equalization: zf}``)."""

    relays: int = 0
    snr_db: Any = -5.0  # one value for every hop, or a list with one value per hop
    relay_clamp: bool = True  # relays clamp their decoded image to [0, 1] before re-encoding
    channel: dict[str, Any] = field(default_factory=lambda: {"name": "awgn"})
    # one encoder-decoder pair for every hop (our reading of the paper), or r + 1 pairs
    shared_codec: bool = True

    def hop_snrs_db(self, relays: int | None = None) -> list[float]:
        r = self.relays if relays is None else relays
        if isinstance(self.snr_db, (list, tuple)):
            if len(self.snr_db) != r + 1:
                raise ConfigError(
                    f"link.snr_db has {len(self.snr_db)} values but relays={r} needs {r + 1} "
                    "(one per hop), or give a single value"
                )
            return [float(s) for s in self.snr_db]
        return [float(self.snr_db)] * (r + 1)


@dataclass
class TrainConfig:
    """DeepJSCC training. ``loss`` maps registered loss terms to a weight, or to a mapping
    ``{weight: w, <option>: ...}`` (e.g. ``{mse: 1.0, dhd: 0.06}``); ``batch_size`` is one
    int, or a list indexed by the number of relays."""

    loss: dict[str, Any] = field(default_factory=lambda: {"mse": 1.0})
    epochs: int = 10
    epoch_images: int | None = None  # images per epoch: a fresh seeded subset (None = all)
    batch_size: Any = 32
    lr: float = 1e-4
    # decay: lr *= lr_decay per epoch (the paper's) | onecycle | plateau: ReduceLROnPlateau on
    # the validation loss (plateau_factor, plateau_patience), stopping once lr < min_lr
    schedule: str = "decay"
    lr_decay: float = 0.95  # MultiplicativeLR factor per epoch (schedule: decay)
    plateau_factor: float = 0.5
    plateau_patience: int = 15
    min_lr: float = 0.0  # schedule plateau: training stops when the lr falls below this
    weight_decay: float = 0.0
    init_from: str | None = None  # warm start: DeepJSCC weights of another checkpoint
    # SNR-adaptive training: each image's SNR on each hop drawn from U[lo, hi] dB instead of
    # link.snr_db (validation stays at link.snr_db). None = the paper's fixed-SNR training.
    snr_db_range: list[float] | None = None
    device: str = "auto"
    channels_last: bool = True  # NHWC memory format: faster convolutions on CPU and GPU
    precision: str = "fp32"  # fp32 | bf16: autocast of the forward pass and loss
    compile: bool = False  # torch.compile the link (inductor; the first steps compile)
    fused_adam: bool = True  # one fused Adam kernel over all parameters instead of a loop
    # recompute each hop's encoder and decoder activations in backward instead of keeping
    # them: activation memory of one hop instead of r + 1 (e.g. r = 3 at batch 6 on 16 GB)
    grad_checkpoint: bool = False
    eval_batch_size: int = 64

    def batch_size_for(self, relays: int) -> int:
        if isinstance(self.batch_size, (list, tuple)):
            if relays >= len(self.batch_size):
                raise ConfigError(
                    f"train.batch_size lists {len(self.batch_size)} sizes (for relays 0.."
                    f"{len(self.batch_size) - 1}) but relays={relays}; add one or give an int"
                )
            return int(self.batch_size[relays])
        return int(self.batch_size)


@dataclass
class EvalConfig:
    """Defaults for ``semjscc eval``; empty lists mean "the trained value"."""

    snr_db: list[float] = field(default_factory=list)
    relays: list[int] = field(default_factory=list)
    split: str = "test"
    seed: int = 1234
    # ImageNet AlexNet for LPIPS: "imagenet" ($TORCH_HOME/hub/checkpoints or download), a path,
    # or "none" (no LPIPS). Without the file the lpips column stays empty.
    alexnet_weights: str = "imagenet"


@dataclass
class SweepConfig:
    """The grid a reproduction trains: one model per (relays, snr_db, method)."""

    relays: list[int] = field(default_factory=lambda: [0, 1, 2, 3])
    snr_db: list[float] = field(default_factory=lambda: [-5.0, -10.0, -15.0])
    # one loss mapping per method (as train.loss); the method label is derived from it
    methods: list[dict[str, Any]] = field(
        default_factory=lambda: [{"mse": 1.0}, {"mse": 1.0, "dhd": 0.06}])
    # one model per (method, relays) trained over U[lo, hi] dB (instead of one per SNR),
    # [lo, hi] = snr_adaptive_range, or [min, max] of snr_db when that is empty
    snr_adaptive: bool = False
    snr_adaptive_range: list[float] = field(default_factory=list)
    # r > 0 models start from the same method's r = 0 model, with these --set overrides
    warm_start: bool = False
    warm_start_set: list[str] = field(default_factory=lambda: ["train.epochs=1"])
    # non-empty: one model per SNR setting trained with MSE and these --set overrides (the
    # shared base), which every method's r = 0 model then fine-tunes with ``base_finetune_set``
    base_set: list[str] = field(default_factory=list)
    base_finetune_set: list[str] = field(default_factory=lambda: ["train.epochs=1"])
    qf: list[str] = field(default_factory=lambda: list(PAPER_QF_SETTINGS))
    qf_snr_db: list[float] = field(default_factory=list)  # empty: every SNR of snr_db
    figure_snr_db: list[float] = field(default_factory=list)  # SNRs drawn in the relay figures
    qf_max_blocks: int = 1_000_000
    separation: list[str] = field(default_factory=lambda: ["jpeg2000", "webp", "avif"])
    # relay counts at which every method is also trained with r + 1 independent pairs
    # (link.shared_codec: false), the ablation of the shared-pair reading
    per_hop_codecs: list[int] = field(default_factory=list)


@dataclass
class DHDConfig:
    """Deep Hash Distillation (Jang et al., ECCV 2022) with the official code's defaults."""

    backbone: str = "resnet50"  # resnet50 | resnet18 | resnet-tiny | alexnet
    width: int | None = None  # resnet-tiny base width (None = its default, 32)
    pretrained: str = "imagenet"  # imagenet | none | path to a torchvision weights file
    num_bits: int = 64
    crop_size: int | None = 224  # centre crop before the backbone; None = whole image
    tau: float = 0.2
    lambda_sdh: float = 0.1
    lambda_bceq: float = 0.1
    sigma: float = 0.5
    teacher_strength: float = 0.5  # A_w: 0.5 for ResNet, 0.2 for AlexNet
    crop_scale: list[float] = field(default_factory=lambda: [0.08, 1.0])  # RandomResizedCrop
    student_strength: float = 1.0
    epochs: int = 100
    batch_size: int = 128
    lr: float = 3e-4  # hash head and proxies
    backbone_lr_scale: float = 0.05  # backbone lr = scale * lr
    weight_decay: float = 1e-5
    warmup_epochs: int = 10  # constant lr, then cosine to 0 over the remaining epochs
    top_k: int | None = 5000  # mAP@K
    checkpoint: str | None = None  # trained DHD (best.pt): the `dhd` loss term and evaluation


@dataclass
class TaskConfig:
    """A task classifier: the judge whose accuracy measures what survives transmission, or
    the frozen task network T of a task-aware loss. Trained on clean images by
    ``semjscc train-task`` (checkpoint kind ``classifier``)."""

    model: str = "resnet-tiny"  # a name registered in CLASSIFIERS
    width: int | None = None  # width of narrow models (None = the model's default)
    pretrained: str = "none"  # none | imagenet | path to a weights file
    input_size: int | None = None  # resize inputs to this size first (224 for EfficientViT)
    normalize: str = "imagenet"  # imagenet | none: input normalisation inside the model
    epochs: int = 5
    batch_size: int = 64
    optimizer: str = "adamw"  # adamw | adam | sgd
    lr: float = 1e-3
    weight_decay: float = 5e-4
    schedule: str = "cosine"  # cosine | step (StepLR(step_size, gamma)) | constant
    step_size: int = 7
    gamma: float = 0.1
    finetune_epochs: int = 2  # the matched protocol: fine-tuning on reconstructions
    checkpoint: str | None = None  # trained classifier (best.pt) used by evaluation and losses


@dataclass
class JudgeConfig:
    """Independent semantic judges for a reproduction: networks never used in training, so
    that a gain measured by the DHD the loss was built on is also measured by others."""

    dhd_seed: int | None = 1  # a second DHD like ``dhd`` but with this seed (None: skip)
    dhd_backbone: str | None = "resnet18"  # a third DHD with another backbone (None: skip)
    dhd_width: int | None = None  # its width, for narrow backbones
    dhd_pretrained: str = "imagenet"  # its weights: imagenet | none | path
    dhd_epochs: int | None = None  # epochs of both judge DHDs (None: dhd.epochs)
    classifier: bool = True  # a ``task`` classifier trained on clean images


@dataclass
class EOConfig:
    """The Earth-observation sweep (unified semantic-loss model, seed 001): one DJSCC per
    channel × compression ratio (× SNR, unless SNR-adaptive), evaluated for reconstruction and
    task quality over ratio × SNR, then fitted and used for allocation."""

    channels: list[dict[str, Any]] = field(default_factory=lambda: [{"name": "awgn"}])
    ratios: list[str] = field(default_factory=lambda: ["1/6", "1/12"])  # requested R = k/n
    snr_db: list[float] = field(default_factory=lambda: [19.0, 13.0, 7.0, 4.0, 1.0])
    snr_adaptive: bool = False  # one model per (channel, R) over snr_adaptive_range
    snr_adaptive_range: list[float] = field(default_factory=list)  # empty: [min, max] of snr_db
    protocols: list[str] = field(default_factory=lambda: ["mismatched", "matched"])
    separation: list[str] = field(default_factory=lambda: ["jpeg2000", "webp", "avif"])
    fit_metrics: list[str] = field(default_factory=lambda: [
        "accuracy_mismatched", "accuracy_matched", "ssim", "psnr"])
    fit_families: list[str] = field(default_factory=lambda: ["U1", "U2", "U3", "U4"])
    users: dict[str, Any] = field(default_factory=dict)  # allocation example (users.yaml form)


@dataclass
class ImportanceConfig:
    """Semantic-importance DJSCC (seed 002): defaults of the importance loss terms (see
    :mod:`semjscc.losses.importance`; the formulas are our design) and the sweep of
    ``experiment: importance``: one Bourtsoulatze DJSCC per method × R × train SNR,
    evaluated at every test SNR."""

    layers: list[str] = field(default_factory=list)  # layers ℓ of T; empty: its deepest one
    multilayer_layers: list[str] = field(default_factory=list)  # empty: T's last three
    normalization: str = "relu"  # relu | abs | softmax
    floor: float = 0.1  # β: w <- (1 - β) w + β / K
    temperature: float = 1.0  # τ of the softmax normalisation
    target: str = "label"  # label (true class) | predicted (T's class on the clean image)
    methods: list[dict[str, Any]] = field(default_factory=lambda: [
        {"mse": 1.0}, {"unweighted": 1.0}, {"importance": 1.0}, {"pixel-importance": 1.0}])
    ratios: list[str] = field(default_factory=lambda: ["1/12", "1/6"])
    train_snr_db: list[float] = field(default_factory=lambda: [0.0, 5.0, 10.0, 15.0, 20.0])
    test_snr_db: list[float] = field(default_factory=lambda: [
        -5.0, 0.0, 5.0, 10.0, 15.0, 20.0])
    channel: dict[str, Any] = field(default_factory=lambda: {"name": "awgn"})
    separation: list[str] = field(default_factory=lambda: ["jpeg2000", "webp", "avif"])
    # the independent classifier: --set overrides of the task classifier's config (another
    # architecture or seed); it is trained on clean images and never used in a loss
    independent: list[str] = field(default_factory=lambda: [
        "task.model=convnet-tiny", "task.width=null", "seed=1"])


@dataclass
class Config:
    name: str = "experiment"
    # what `semjscc reproduce` runs: multihop-dhd (the core paper), eo-semloss (seed 001),
    # importance (seed 002)
    experiment: str = "multihop-dhd"
    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    link: LinkConfig = field(default_factory=LinkConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    sweep: SweepConfig = field(default_factory=SweepConfig)
    dhd: DHDConfig = field(default_factory=DHDConfig)
    task: TaskConfig = field(default_factory=TaskConfig)
    judges: JudgeConfig = field(default_factory=JudgeConfig)
    eo: EOConfig = field(default_factory=EOConfig)
    importance: ImportanceConfig = field(default_factory=ImportanceConfig)


# ---------------------------------------------------------------------------- helpers


def parse_ratio(value: str | float | int) -> Fraction:
    """``"1/3"`` / ``0.3333`` -> Fraction (floats snapped to a denominator <= 1000)."""
    try:
        if isinstance(value, str):
            return Fraction(value.strip())
        return Fraction(value).limit_denominator(1000)
    except (ValueError, ZeroDivisionError):
        raise ConfigError(f"not a ratio: {value!r} (write e.g. 1/3 or 0.25)") from None


def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _check_type(value: Any, tp: Any, key: str) -> Any:
    """Light type check/coercion of a YAML value against a dataclass annotation."""
    if tp is Any:
        return value
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _check_type(value, arg, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{key}: bad value {value!r}")
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key} must be a list, got {value!r}")
        (inner,) = typing.get_args(tp) or (Any,)
        return [_check_type(v, inner, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key} must be a mapping, got {value!r}")
        _, inner = typing.get_args(tp) or (Any, Any)
        return {str(k): _check_type(v, inner, f"{key}.{k}") for k, v in value.items()}
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key} must be an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, str):  # YAML 1.1 reads 3e-3 as a string
            try:
                return float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key} must be a number, got {value!r}")
        return float(value)
    if tp is str:
        if isinstance(value, (dict, list)) or value is None:
            raise ConfigError(f"{key} must be a string, got {value!r}")
        return str(value)
    return value


def from_dict(cls: type[C], data: dict[str, Any], prefix: str = "") -> C:
    """Build dataclass ``cls`` from a nested mapping; unknown keys raise ``ConfigError``."""
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix or 'config'} must be a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        full = f"{prefix}{key}"
        if full in RENAMED:
            raise ConfigError(f"config key {full!r} is gone; use {RENAMED[full]}")
        if key not in names:
            raise ConfigError(
                f"unknown config key {full!r}; valid keys here: {', '.join(sorted(names))}"
            )
        tp = hints[key]
        if _is_dataclass_type(tp):
            kwargs[key] = from_dict(tp, value or {}, prefix=f"{full}.")
        else:
            kwargs[key] = _check_type(value, tp, full)
    return cls(**kwargs)


def to_dict(cfg: Any) -> dict[str, Any]:
    return asdict(cfg)


def _set_path(tree: dict[str, Any], dotted: str, value: Any) -> None:
    node = tree
    parts = dotted.split(".")
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"--set {dotted}: {part!r} is not a section")
        node = child
    node[parts[-1]] = value


def parse_override(text: str) -> tuple[str, Any]:
    """``"train.epochs=3"`` -> ``("train.epochs", 3)``; the value is read as YAML."""
    if "=" not in text:
        raise ConfigError(f"--set expects key=value, got {text!r} (e.g. --set train.epochs=3)")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key:
        raise ConfigError(f"--set {text!r}: empty key")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key, value


def resolve_config_path(spec: str | Path) -> Path:
    """A file path, or a packaged preset name such as ``tiny/df`` (``configs/tiny/df.yaml``)."""
    path = Path(spec)
    if path.is_file():
        return path
    name = str(spec).removesuffix(".yaml")
    name = name.removeprefix("configs/")
    packaged = resources.files("semjscc") / "configs" / f"{name}.yaml"
    if packaged.is_file():
        return Path(str(packaged))
    raise ConfigError(
        f"config {str(spec)!r} not found: give a YAML path or a preset such as "
        f"{', '.join(list_presets())}"
    )


def list_presets() -> list[str]:
    root = resources.files("semjscc") / "configs"
    out = []
    for group in sorted(p.name for p in root.iterdir() if p.is_dir()):
        for item in sorted((root / group).iterdir(), key=lambda p: p.name):
            if item.name.endswith(".yaml"):
                out.append(f"{group}/{item.name.removesuffix('.yaml')}")
    return out


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def read_config_tree(spec: str | Path, _seen: tuple[str, ...] = ()) -> dict[str, Any]:
    """The YAML mapping of ``spec`` with its ``extends:`` parents (a preset name or path, or a
    list of them, merged in order) merged underneath it."""
    path = resolve_config_path(spec)
    if str(path) in _seen:
        raise ConfigError(f"{path}: circular 'extends' ({' -> '.join(_seen)})")
    try:
        tree = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({describe(exc)})") from None
    if not isinstance(tree, dict):
        raise ConfigError(f"{path}: a config file must be a mapping of sections")
    parents = tree.pop("extends", None) or []
    merged: dict[str, Any] = {}
    for parent in [parents] if isinstance(parents, str) else parents:
        merged = _deep_merge(merged, read_config_tree(parent, _seen + (str(path),)))
    return _deep_merge(merged, tree)


# ---------------------------------------------------------------------------- validation

MAX_RELAYS = 16


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _int_at_least(low: int) -> Any:
    def check(v: Any) -> str | None:
        if v is None:
            return None
        values = v if isinstance(v, list) else [v]
        if not all(isinstance(x, int) and not isinstance(x, bool) and x >= low for x in values):
            return f"must be a whole number >= {low}"
        return None
    return check


def _in_range(low: float, high: float, low_open: bool = False, high_open: bool = False) -> Any:
    def check(v: Any) -> str | None:
        if v is None:
            return None
        ok = _number(v) and (v > low if low_open else v >= low) and \
            (v < high if high_open else v <= high)
        return None if ok else (f"must lie in {'(' if low_open else '['}{low:g}, {high:g}"
                                f"{')' if high_open else ']'}")
    return check


def _positive(v: Any) -> str | None:
    return None if v is None or (_number(v) and v > 0) else "must be a number > 0"


def _range_pair(v: Any) -> str | None:
    if v is None or v == []:
        return None
    if not (isinstance(v, list) and len(v) == 2 and all(_number(x) for x in v) and v[0] <= v[1]):
        return "must be [low, high] in dB with low <= high"
    return None


def _ratio(v: Any) -> str | None:
    values = v if isinstance(v, list) else [v]
    for item in values:
        r = parse_ratio(item)
        if not 0 < r <= 1:
            return f"holds {item}: a compression ratio must lie in (0, 1]"
    return None


def _one_of(*choices: str) -> Any:
    def check(v: Any) -> str | None:
        return None if v in choices else f"is not valid; use one of {', '.join(choices)}"
    return check


def _crop_scale(v: Any) -> str | None:
    ok = isinstance(v, list) and len(v) == 2 and all(_number(x) for x in v) and \
        0 < v[0] <= v[1] <= 1
    return None if ok else "must be [low, high] area fractions with 0 < low <= high <= 1"


def _relays(v: Any) -> str | None:
    return _int_at_least(0)(v) or (
        f"must be at most {MAX_RELAYS}" if max(v if isinstance(v, list) else [v], default=0)
        > MAX_RELAYS else None)


# dotted key -> check(value) returning what is wrong, or None
RULES: dict[str, Any] = {
    "data.image_size": _int_at_least(8), "data.num_workers": _int_at_least(0),
    "data.val_fraction": _in_range(0, 1, high_open=True),
    "data.test_fraction": _in_range(0, 1, high_open=True),
    "data.on_bad_image": _one_of("skip", "error"),
    "model.num_features": _int_at_least(2), "model.bandwidth_ratio": _ratio,
    "link.relays": _relays,
    "train.epochs": _int_at_least(1), "train.epoch_images": _int_at_least(1),
    "train.batch_size": _int_at_least(1), "train.eval_batch_size": _int_at_least(1),
    "train.lr": _positive, "train.lr_decay": _in_range(0, 1, low_open=True),
    "train.weight_decay": _in_range(0, math.inf), "train.snr_db_range": _range_pair,
    "train.plateau_factor": _in_range(0, 1, low_open=True, high_open=True),
    "train.plateau_patience": _int_at_least(0), "train.min_lr": _in_range(0, math.inf),
    "train.precision": _one_of("fp32", "bf16"),
    "eval.relays": _relays,
    "dhd.width": _int_at_least(2), "dhd.num_bits": _int_at_least(1),
    "dhd.crop_size": _int_at_least(1), "dhd.crop_scale": _crop_scale, "dhd.tau": _positive, "dhd.sigma": _positive,
    "dhd.lambda_sdh": _in_range(0, math.inf), "dhd.lambda_bceq": _in_range(0, math.inf),
    "dhd.teacher_strength": _in_range(0, math.inf),
    "dhd.student_strength": _in_range(0, math.inf), "dhd.epochs": _int_at_least(1),
    "dhd.batch_size": _int_at_least(1), "dhd.lr": _positive,
    "dhd.backbone_lr_scale": _in_range(0, math.inf), "dhd.weight_decay": _in_range(0, math.inf),
    "dhd.warmup_epochs": _int_at_least(0), "dhd.top_k": _int_at_least(1),
    "task.width": _int_at_least(1), "task.input_size": _int_at_least(8),
    "task.epochs": _int_at_least(1), "task.batch_size": _int_at_least(1), "task.lr": _positive,
    "task.weight_decay": _in_range(0, math.inf), "task.step_size": _int_at_least(1),
    "task.gamma": _in_range(0, 1, low_open=True), "task.finetune_epochs": _int_at_least(1),
    "sweep.relays": _relays, "sweep.per_hop_codecs": _relays,
    "sweep.snr_adaptive_range": _range_pair, "sweep.qf_max_blocks": _int_at_least(1),
    "judges.dhd_epochs": _int_at_least(1), "judges.dhd_width": _int_at_least(2),
    "eo.ratios": _ratio, "eo.snr_adaptive_range": _range_pair,
    "importance.normalization": _one_of("relu", "abs", "softmax"),
    "importance.floor": _in_range(0, 1), "importance.temperature": _positive,
    "importance.target": _one_of("label", "predicted"), "importance.ratios": _ratio,
}


def _non_finite(value: Any, key: str) -> str | None:
    """The first dotted key under ``key`` holding a NaN or infinite number, or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return key
    if isinstance(value, dict):
        return next(filter(None, (_non_finite(v, f"{key}.{k}") for k, v in value.items())), None)
    if isinstance(value, (list, tuple)):
        return next(filter(None, (_non_finite(v, f"{key}[{i}]") for i, v in enumerate(value))),
                    None)
    return None


def validate(cfg: Config) -> Config:
    """Check every numeric field (finite, in range) before any work starts; one-line
    ConfigError naming the key, its value and what it must be."""
    tree = to_dict(cfg)
    bad = _non_finite(tree, "config")
    if bad:
        raise ConfigError(f"{bad.removeprefix('config.')} is not a finite number; give a finite "
                          "value")
    flat: dict[str, Any] = {}
    for section, values in tree.items():
        if isinstance(values, dict):
            flat.update({f"{section}.{k}": v for k, v in values.items()})
    for key, check in RULES.items():
        problem = check(flat[key])
        if problem:
            raise ConfigError(f"{key}={flat[key]!r} {problem}")
    return cfg


def load_config(
    spec: str | Path | None = None,
    overrides: list[str] | None = None,
    cls: type[C] = Config,  # type: ignore[assignment]
    base: dict[str, Any] | None = None,
) -> C:
    """Load ``spec`` (path or preset) or start from ``base`` (e.g. a checkpoint's config),
    then apply ``key=value`` overrides."""
    tree: dict[str, Any] = copy.deepcopy(base) if base is not None else {}
    if spec is not None:
        tree = _deep_merge(tree, read_config_tree(spec))
    for text in overrides or []:
        key, value = parse_override(text)
        _set_path(tree, key, value)
    cfg = from_dict(cls, tree)
    return validate(cfg) if isinstance(cfg, Config) else cfg


def config_from_dict(data: dict[str, Any]) -> Config:
    return from_dict(Config, data)


def save_config(cfg: Any, path: str | Path) -> None:
    write_text(path, yaml.safe_dump(to_dict(cfg), sort_keys=False))
