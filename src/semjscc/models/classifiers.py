"""Task classifiers: the networks whose decisions judge what survives transmission.

A :class:`Classifier` wraps a network registered in :data:`~semjscc.registry.CLASSIFIERS`.
It takes images (B, 3, H, W) in [0, 1], resizes them (bilinear) to its ``input_size`` when
it has one, ImageNet-normalises them (``normalize="imagenet"``) and returns logits (B, C).
:meth:`Classifier.forward_features` also returns the activations of named layers of the
network, computed in the same pass and inside the autograd graph (a task-aware loss needs
∂logit/∂A).

Registered networks, factories ``(num_classes, width=None, weights="none") -> nn.Module``:

* ``efficientvit_m2``: timm's EfficientViT-M2 (cascaded group attention) on 224 px inputs;
  ``weights="imagenet"`` reads timm's ImageNet file from the local Hugging Face cache (never
  downloads), a path reads that file; the classification layer is then replaced.
* ``resnet-tiny``: the narrow timm ResNet of :func:`~.backbones.narrow_resnet`. Inputs up to
  32 px get the 3×3 stride-1 stem and width 16 by default, larger ones the deep stem (stride
  4 with its max-pool) and width 32: the same cost per image at 32 and at 64 px.
* ``resnet18-cifar``: torchvision's ResNet-18 with a 3×3 stride-1 stem and no max-pool.
* ``convnet-tiny``: a plain VGG-style network, three blocks of two 3×3 conv-BN-ReLU layers and
  a 2×2 max-pool (widths w, 2w, 4w; w = 32 by default), global average pool, linear head.

The last three train from scratch (``weights`` may also be a state_dict file saved from the
same network); none has ImageNet weights.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import timm
import torch
import torch.nn.functional as F
import torchvision.models as tvm
from huggingface_hub import constants as hf_constants
from huggingface_hub import try_to_load_from_cache
from timm.models import load_state_dict as timm_load_state_dict
from timm.models.efficientvit_msra import checkpoint_filter_fn
from torch import Tensor, nn

from ..config import TaskConfig
from ..errors import CheckpointError, ConfigError, first_line
from ..files import UnreadableFile
from ..registry import CLASSIFIERS
from .backbones import narrow_resnet, plain_convnet
from .dhd import IMAGENET_MEAN, IMAGENET_STD
from .pretrained import WeightsError, load_pretrained, resolve_weights

WeightsSpec = str | os.PathLike[str] | None
NORMALIZATIONS = ("imagenet", "none")
SMALL_INPUT_MAX = 32  # resnet-tiny: inputs up to this side get the stride-1 stem
EFFICIENTVIT_HF_REPO = "timm/efficientvit_m2.r224_in1k"
EFFICIENTVIT_HF_FILES = ("model.safetensors", "pytorch_model.bin")


@dataclasses.dataclass(frozen=True)
class ClassifierSpec:
    """What is known about a registered network beyond its factory.

    ``sizes(state)`` reads the factory's size options (``num_classes``, ``width`` ...) from
    the network's state_dict; ``layers`` are sensible feature layers (module names);
    ``input_size`` is the input side the network requires (None: any).
    """

    sizes: Callable[[Mapping[str, Tensor]], dict[str, Any]]
    layers: tuple[str, ...]
    input_size: int | None = None


SPECS: dict[str, ClassifierSpec] = {}


def register_classifier(name: str, spec: ClassifierSpec) -> Callable[[Callable[..., nn.Module]],
                                                                      Callable[..., nn.Module]]:
    """Decorator registering a network factory in ``CLASSIFIERS`` together with its spec."""

    def deco(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        SPECS[name] = spec
        return CLASSIFIERS.register(name)(fn)

    return deco


def spec_of(name: str) -> ClassifierSpec:
    """The spec of the registered classifier ``name`` (unknown names: a ConfigError)."""
    CLASSIFIERS.get(name)
    return SPECS[name]


class Classifier(nn.Module):
    """Images (B, 3, H, W) in [0, 1] -> logits (B, C) of the wrapped network ``net``.

    Args:
        net: the network, (B, 3, S, S) normalised images -> (B, C) logits.
        num_classes: C.
        input_size: side S the images are resized to first (bilinear); None keeps H × W.
        normalize: ``imagenet`` (subtract the ImageNet mean, divide by its std) or ``none``.
        feature_layers: module names of ``net`` offered by :meth:`feature_layers`.
    """

    def __init__(self, net: nn.Module, num_classes: int, input_size: int | None = None,
                 normalize: str = "imagenet", feature_layers: Sequence[str] = ()) -> None:
        super().__init__()
        if normalize not in NORMALIZATIONS:
            raise ConfigError(f"task.normalize={normalize!r}; choose one of: "
                              f"{', '.join(NORMALIZATIONS)}")
        self.net = net
        self.num_classes = num_classes
        self.input_size = input_size
        self.normalize = normalize
        self._feature_layers = tuple(feature_layers)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1),
                             persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1),
                             persistent=False)

    def preprocess(self, x: Tensor) -> Tensor:
        """Resize to ``input_size`` (bilinear, half-pixel centres, antialiased when shrinking)
        and normalise: what the network sees."""
        size = self.input_size
        if size is not None and tuple(x.shape[-2:]) != (size, size):
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False,
                              antialias=True)
        if self.normalize == "imagenet":
            x = (x - self.mean) / self.std
        return x

    def forward(self, x: Tensor) -> Tensor:
        return self.net(self.preprocess(x))

    def feature_layers(self) -> list[str]:
        """Module names of the network whose outputs are sensible features for
        :meth:`forward_features` (shallow to deep)."""
        return list(self._feature_layers)

    def forward_features(self, x: Tensor,
                         layers: Sequence[str]) -> tuple[Tensor, dict[str, Tensor]]:
        """Logits (B, C) and the output of each module of ``net`` named in ``layers`` (e.g.
        ``layer3`` of a ResNet, ``stages.2`` of EfficientViT), from one forward pass; the
        activations stay in the autograd graph, so gradients flow from the logits to them."""
        modules = dict(self.net.named_modules())
        unknown = [name for name in layers if not name or name not in modules]
        if unknown:
            raise ConfigError(f"the classifier has no layer {', '.join(map(repr, unknown))}; "
                              f"choose module names such as {', '.join(self.feature_layers())}")
        activations: dict[str, Tensor] = {}

        def keep(name: str) -> Callable[[nn.Module, Any, Tensor], None]:
            return lambda module, inputs, output: activations.__setitem__(name, output)

        handles = [modules[name].register_forward_hook(keep(name)) for name in layers]
        try:
            logits = self(x)
        finally:
            for handle in handles:
                handle.remove()
        return logits, activations


# ------------------------------------------------------------------------------- weights


def _is_none(weights: WeightsSpec) -> bool:
    return weights is None or str(weights).lower() == "none"


def _no_width(name: str, width: int | None) -> None:
    if width is not None:
        raise ConfigError(f"task.width={width} does not apply to {name} (a fixed "
                          "architecture); remove it")


def _from_file(net: nn.Module, name: str, weights: WeightsSpec) -> nn.Module:
    """``net`` as initialised (weights none) or with the state_dict file ``weights``."""
    if _is_none(weights):
        return net
    if str(weights).lower() == "imagenet":
        raise WeightsError(f"{name} has no ImageNet weights; fix: pass a state_dict file saved "
                           "from this network as task.pretrained, or use task.pretrained=none")
    return load_pretrained(net, resolve_weights(name, weights))


def efficientvit_imagenet_file() -> Path:
    """timm's ImageNet file of EfficientViT-M2 in the local Hugging Face cache, or a
    one-line WeightsError saying how to get it (nothing is downloaded)."""
    cache = hf_constants.HF_HUB_CACHE
    for filename in EFFICIENTVIT_HF_FILES:
        found = try_to_load_from_cache(EFFICIENTVIT_HF_REPO, filename, cache_dir=cache)
        if isinstance(found, str):
            return Path(found)
    raise WeightsError(
        f"ImageNet weights for efficientvit_m2 not found: {EFFICIENTVIT_HF_REPO}/"
        f"{EFFICIENTVIT_HF_FILES[0]} is not in the Hugging Face cache {cache}; fix: fetch it "
        f"there on a machine with a network (huggingface-cli download {EFFICIENTVIT_HF_REPO} "
        f"{EFFICIENTVIT_HF_FILES[0]}; set HF_HOME to use another cache), pass the file as "
        "task.pretrained=/path/model.safetensors, or train from scratch with "
        "task.pretrained=none")


def _load_timm_weights(net: nn.Module, path: Path, head: str) -> None:
    """Load the timm state_dict file ``path`` (safetensors or torch, read with
    ``weights_only=True``) into ``net``, except the layer ``head`` (kept as initialised).
    Every other tensor must be in the file with the same shape, and nothing else."""
    try:
        state = checkpoint_filter_fn(timm_load_state_dict(str(path)), net)
    except Exception as exc:
        raise WeightsError(f"cannot read weights file {path} ({UnreadableFile.of(exc)}); "
                           "fix: pass a timm state_dict file (.safetensors or torch.save of "
                           "a state_dict), or use task.pretrained=none") from exc
    state = {k: v for k, v in state.items() if not k.startswith(f"{head}.")}
    expected = {k: v for k, v in net.state_dict().items() if not k.startswith(f"{head}.")}
    problems = [f"{len(keys)} {what} (e.g. {keys[0]})" for what, keys in (
        ("missing keys", [k for k in expected if k not in state]),
        ("unexpected keys", [k for k in state if k not in expected]),
        ("shape mismatches", [k for k, v in expected.items()
                              if k in state and state[k].shape != v.shape])) if keys]
    if problems:
        raise WeightsError(f"weights file {path} does not fit {type(net).__name__}: "
                           f"{'; '.join(problems)}; fix: pass weights of this architecture, "
                           "or use task.pretrained=none")
    net.load_state_dict(state, strict=False)


# ---------------------------------------------------------------------------- factories


@register_classifier("efficientvit_m2", ClassifierSpec(
    sizes=lambda s: {"num_classes": s["head.linear.weight"].shape[0]},
    layers=("stages.0", "stages.1", "stages.2"), input_size=224))
def efficientvit_m2(num_classes: int, width: int | None = None,
                    weights: WeightsSpec = "none") -> nn.Module:
    """timm EfficientViT-M2 (224 px inputs) with a ``num_classes`` head; ImageNet weights
    (``imagenet``: the Hugging Face cache; or a file path) load into everything but the
    head's linear layer."""
    _no_width("efficientvit_m2", width)
    net = timm.create_model("efficientvit_m2", num_classes=num_classes)
    if not _is_none(weights):
        path = (efficientvit_imagenet_file() if str(weights).lower() == "imagenet"
                else resolve_weights("efficientvit_m2", weights))
        _load_timm_weights(net, path, "head.linear")
    return net


@register_classifier("resnet-tiny", ClassifierSpec(
    sizes=lambda s: {"num_classes": s["fc.weight"].shape[0],
                     "width": s["layer1.0.conv1.weight"].shape[0],
                     "small_input": "conv1.weight" in s},
    layers=("layer1", "layer2", "layer3", "layer4")))
def resnet_tiny(num_classes: int, width: int | None = None, weights: WeightsSpec = "none",
                small_input: bool = True) -> nn.Module:
    """:func:`~.backbones.narrow_resnet` with a ``num_classes`` head; ``small_input``: the
    stride-1 stem (inputs up to 32 px; default width 16), else the deep stem (width 32)."""
    net = narrow_resnet(width or (16 if small_input else 32), num_classes, small_input)
    return _from_file(net, "resnet-tiny", weights)


@register_classifier("resnet18-cifar", ClassifierSpec(
    sizes=lambda s: {"num_classes": s["fc.weight"].shape[0]},
    layers=("layer1", "layer2", "layer3", "layer4")))
def resnet18_cifar(num_classes: int, width: int | None = None,
                   weights: WeightsSpec = "none") -> nn.Module:
    """torchvision ResNet-18 with the CIFAR stem (3×3 stride-1 conv, no max-pool)."""
    _no_width("resnet18-cifar", width)
    net = tvm.resnet18(weights=None, num_classes=num_classes)
    net.conv1 = nn.Conv2d(3, 64, 3, stride=1, padding=1, bias=False)
    nn.init.kaiming_normal_(net.conv1.weight, mode="fan_out", nonlinearity="relu")
    net.maxpool = nn.Identity()
    return _from_file(net, "resnet18-cifar", weights)


@register_classifier("convnet-tiny", ClassifierSpec(
    sizes=lambda s: {"num_classes": s["fc.weight"].shape[0],
                     "width": s["block1.0.weight"].shape[0]},
    layers=("block1", "block2", "block3")))
def convnet_tiny(num_classes: int, width: int | None = None,
                 weights: WeightsSpec = "none") -> nn.Module:
    """Plain VGG-style CNN (:func:`~semjscc.models.backbones.plain_convnet`), width default
    32."""
    return _from_file(plain_convnet(width or 32, num_classes), "convnet-tiny", weights)


# ------------------------------------------------------------------------------ building


def _input_size(cfg: TaskConfig, spec: ClassifierSpec) -> int | None:
    if spec.input_size is not None and cfg.input_size not in (None, spec.input_size):
        raise ConfigError(f"{cfg.model} takes {spec.input_size} px inputs but task.input_size="
                          f"{cfg.input_size}; set task.input_size={spec.input_size} or leave it "
                          "empty")
    return cfg.input_size or spec.input_size


def create_classifier(cfg: TaskConfig, num_classes: int, pretrained: bool = True,
                      image_size: int | None = None) -> Classifier:
    """A new classifier ``cfg.model`` for ``num_classes`` classes; ``pretrained`` loads
    ``cfg.pretrained`` (none, imagenet or a file). ``image_size`` (the side of the images it
    will be given) picks size-dependent stems when ``cfg.input_size`` does not fix it."""
    spec = spec_of(cfg.model)
    input_size = _input_size(cfg, spec)
    side = input_size or image_size
    factory = CLASSIFIERS.get(cfg.model)
    options: dict[str, Any] = {}
    if side is not None and "small_input" in inspect.signature(factory).parameters:
        options["small_input"] = side <= SMALL_INPUT_MAX
    net = CLASSIFIERS.build(cfg.model, num_classes=num_classes, width=cfg.width,
                            weights=cfg.pretrained if pretrained else None, **options)
    return Classifier(net, num_classes, input_size, cfg.normalize, spec.layers)


def classifier_from_state_dict(state: Mapping[str, Tensor], cfg: TaskConfig) -> Classifier:
    """A classifier rebuilt from its weights (a :class:`Classifier` state_dict): the class
    count, width and stem from the tensors, the architecture and preprocessing from ``cfg``."""
    spec = spec_of(cfg.model)
    net_state = {k.removeprefix("net."): v for k, v in state.items()}
    try:
        sizes = spec.sizes(net_state)
    except KeyError as exc:
        raise CheckpointError(f"these weights are not a {cfg.model} classifier (no tensor "
                              f"net.{exc.args[0]}); set task.model to the model they were "
                              "trained as") from None
    model = Classifier(CLASSIFIERS.build(cfg.model, **sizes), sizes["num_classes"],
                       _input_size(cfg, spec), cfg.normalize, spec.layers)
    try:
        model.load_state_dict(dict(state))
    except RuntimeError as exc:
        raise CheckpointError(f"these weights do not fit a {cfg.model} classifier "
                              f"({first_line(exc)}); "
                              "set task.model to the model they were trained as") from None
    return model
