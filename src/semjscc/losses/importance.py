"""Semantic-importance loss terms (seed 002, "Deep Joint Source-Channel Coding for Wireless
Image Transmission with Semantic Importance", Sun et al.). The abstract fixes only that the
weights are gradients of the task output with respect to features and that they weight a
feature loss; every formula below is our design (reference notes §2.5).

A frozen task classifier T = h ∘ F_ℓ is split at feature layers ℓ (module names, e.g.
``layer4``). For a clean image x, its target class c (the label, or T's prediction) and the
pre-softmax logit y^c, each layer's activations A = F_ℓ(x) (K, U, V) and gradient
G = ∂y^c/∂A come from one forward/backward pass through T; they are constants (no graph is
kept). Terms, all ``forward(x, x_hat, labels) -> scalar`` averaged over the batch:

* ``importance``: channel weights α_k = mean_{u,v} G_{k,u,v} (Grad-CAM), normalised to
  w (``relu``: ReLU(α)/ΣReLU(α), ``abs``: |α|/Σ|α|, ``softmax``: softmax(α/(τ·mean|α|))),
  a floor w ← (1 − β)·w + β/K, and L = Σ_k w_k · mean_{u,v} (A_k(x) − A_k(x̂))².
* ``unweighted``: w_k = 1/K, the same loss without importance.
* ``importance-element``: element weights W = |G| / Σ|G| with the floor β/(KUV),
  L = Σ_{k,u,v} W · (A(x) − A(x̂))².
* ``importance-multilayer``: ``importance`` at several layers (default: T's last three
  feature layers), L = Σ_ℓ γ_ℓ L_ℓ with factors γ (default 1/#layers each).
* ``pixel-importance`` (the predecessor, arXiv 2208.11375): S = max over colour of
  |∂y^c/∂x|, normalised to mean 1 per image and floored, S ← (1 − β)·S + β, and
  L = mean_p S_p · (x_p − x̂_p)² over all 3HW entries.

When a normalisation has nothing to normalise (ReLU(α) all zero, a zero gradient), the
weights are uniform. Each term's options default to the ``importance`` config section; the
task network is ``task.checkpoint`` (or the term's ``checkpoint`` option).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ..config import Config
from ..errors import ConfigError
from ..models import Classifier, load
from ..registry import LOSSES
from .base import LossTerm, freeze

NORMALISATIONS = ("relu", "abs", "softmax")
TARGETS = ("label", "predicted")
WEIGHTINGS = ("channel", "uniform", "element")


def target_classes(logits: Tensor, labels: Tensor | None, target: str) -> Tensor:
    """(B,) class indices: the labels' argmax ((B, C) one-hot) or T's prediction."""
    if target == "predicted":
        return logits.argmax(1)
    if labels is None:
        raise ConfigError("importance weights of the true class need labels; use "
                          "importance.target=predicted for unlabelled images")
    return labels.argmax(1)


def importance_gradients(classifier: Classifier, x: Tensor, layers: Sequence[str],
                         labels: Tensor | None = None, target: str = "label",
                         ) -> tuple[dict[str, Tensor], dict[str, Tensor], Tensor]:
    """One forward/backward pass of ``classifier`` on clean images x (B, 3, H, W): each
    layer's activations A and gradients ∂y^c/∂A (both (B, K, U, V), detached) and ∂y^c/∂x
    (B, 3, H, W), with y^c the logit of each image's target class."""
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        logits, acts = classifier.forward_features(x, layers)
        classes = target_classes(logits, labels, target)
        score = logits.gather(1, classes[:, None]).sum()
        grads = torch.autograd.grad(score, [acts[name] for name in layers] + [x])
    features = {name: acts[name].detach() for name in layers}
    return features, {name: g.detach() for name, g in zip(layers, grads)}, grads[-1].detach()


def _normalised(values: Tensor) -> Tensor:
    """Rows of (B, N) non-negative values divided by their sum; all-zero rows uniform."""
    total = values.sum(1, keepdim=True)
    uniform = torch.full_like(values, 1.0 / values.shape[1])
    return torch.where(total > 0, values / total.clamp_min(torch.finfo(values.dtype).tiny),
                       uniform)


def channel_weights(grads: Tensor, normalisation: str = "relu", floor: float = 0.1,
                    temperature: float = 1.0) -> Tensor:
    """Channel weights w (B, K), each row summing to 1, from gradients (B, K, U, V):
    α = spatial mean of the gradient, normalised (relu, abs or softmax; see the module
    docstring), then floored: (1 − β)·w + β/K."""
    alpha = grads.flatten(2).mean(2)
    if normalisation == "relu":
        w = _normalised(alpha.clamp_min(0))
    elif normalisation == "abs":
        w = _normalised(alpha.abs())
    elif normalisation == "softmax":
        scale = alpha.abs().mean(1, keepdim=True).clamp_min(torch.finfo(alpha.dtype).tiny)
        w = torch.softmax(alpha / (temperature * scale), dim=1)
    else:
        raise ConfigError(f"importance normalisation {normalisation!r}; choose one of: "
                          f"{', '.join(NORMALISATIONS)}")
    return (1 - floor) * w + floor / w.shape[1]


def element_weights(grads: Tensor, floor: float = 0.1) -> Tensor:
    """Element weights W (B, K, U, V), each image's summing to 1: |G|/Σ|G|, floored with
    β/(KUV)."""
    flat = _normalised(grads.abs().flatten(1))
    return ((1 - floor) * flat + floor / flat.shape[1]).view_as(grads)


def pixel_weights(input_grads: Tensor, floor: float = 0.1) -> Tensor:
    """Pixel weights S (B, 1, H, W), mean 1 per image: max over colour of |∂y^c/∂x| over its
    mean, floored: (1 − β)·S + β."""
    saliency = input_grads.abs().amax(1, keepdim=True)
    mean = saliency.flatten(1).mean(1).view(-1, 1, 1, 1)
    ones = torch.ones_like(saliency)
    s = torch.where(mean > 0, saliency / mean.clamp_min(torch.finfo(mean.dtype).tiny), ones)
    return (1 - floor) * s + floor


def _check_choice(value: str, choices: Sequence[str], key: str) -> None:
    if value not in choices:
        raise ConfigError(f"{key}={value!r} is not valid; use one of {', '.join(choices)}")


class FeatureImportanceTerm(LossTerm):
    """Weighted feature distance between T(x) and T(x̂) at ``layers`` (see the module
    docstring); ``weighting``: channel (importance), uniform or element.

    Args:
        classifier: the task network T (frozen here).
        layers: module names of T's network; one loss per layer.
        weighting: ``channel``, ``uniform`` or ``element``.
        normalisation: of channel weights: relu, abs or softmax.
        floor: β in [0, 1].
        temperature: τ of the softmax normalisation.
        target: ``label`` (true class) or ``predicted`` (T's class on x).
        layer_weights: γ per layer (default 1/len(layers) each).
    """

    def __init__(self, classifier: Classifier, layers: Sequence[str], weighting: str = "channel",
                 normalisation: str = "relu", floor: float = 0.1, temperature: float = 1.0,
                 target: str = "label", layer_weights: Sequence[float] | None = None) -> None:
        super().__init__()
        _check_choice(weighting, WEIGHTINGS, "importance weighting")
        _check_choice(normalisation, NORMALISATIONS, "importance.normalization")
        _check_choice(target, TARGETS, "importance.target")
        if not 0 <= floor <= 1 or temperature <= 0:
            raise ConfigError(f"importance floor {floor} must lie in [0, 1] and temperature "
                              f"{temperature} must be > 0")
        modules = dict(classifier.net.named_modules())
        unknown = [name for name in layers if not name or name not in modules]
        if not layers or unknown:
            raise ConfigError(f"importance layers {list(layers)}: the task network has no layer "
                              f"{', '.join(map(repr, unknown)) or '(none given)'}; choose "
                              f"module names such as {', '.join(classifier.feature_layers())}")
        gammas = list(layer_weights) if layer_weights else [1.0 / len(layers)] * len(layers)
        if len(gammas) != len(layers):
            raise ConfigError(f"importance layer_weights has {len(gammas)} values for "
                              f"{len(layers)} layers; give one per layer")
        self.classifier = freeze(classifier)
        self.layers = list(layers)
        self.gammas = gammas
        self.weighting, self.normalisation = weighting, normalisation
        self.floor, self.temperature, self.target = floor, temperature, target

    def train(self, mode: bool = True) -> FeatureImportanceTerm:
        return self

    def weights(self, grads: Tensor) -> Tensor:
        """Weights broadcastable to the layer's (B, K, U, V) squared errors averaged over
        (U, V) when channel-wise: (B, K) for channel/uniform, (B, K, U, V) for element."""
        if self.weighting == "element":
            return element_weights(grads, self.floor)
        if self.weighting == "uniform":
            return grads.new_full(grads.shape[:2], 1.0 / grads.shape[1])
        return channel_weights(grads, self.normalisation, self.floor, self.temperature)

    def forward(self, x: Tensor, x_hat: Tensor, labels: Tensor | None = None) -> Tensor:
        clean, grads, _ = importance_gradients(self.classifier, x, self.layers, labels,
                                               self.target)
        _, recon = self.classifier.forward_features(x_hat, self.layers)
        total = x_hat.new_zeros(())
        for gamma, name in zip(self.gammas, self.layers):
            error = (recon[name] - clean[name]).pow(2)
            w = self.weights(grads[name])
            if self.weighting == "element":
                per_image = (w * error).flatten(1).sum(1)
            else:
                per_image = (w * error.flatten(2).mean(2)).sum(1)
            total = total + gamma * per_image.mean()
        return total


class PixelImportanceTerm(LossTerm):
    """mean_p S_p·(x_p − x̂_p)² with pixel weights S (B, 1, H, W) of :func:`pixel_weights`
    from the frozen task network ``classifier``."""

    def __init__(self, classifier: Classifier, floor: float = 0.1, target: str = "label") -> None:
        super().__init__()
        _check_choice(target, TARGETS, "importance.target")
        if not 0 <= floor <= 1:
            raise ConfigError(f"importance floor {floor} must lie in [0, 1]")
        self.classifier = freeze(classifier)
        self.floor, self.target = floor, target

    def train(self, mode: bool = True) -> PixelImportanceTerm:
        return self

    def forward(self, x: Tensor, x_hat: Tensor, labels: Tensor | None = None) -> Tensor:
        _, _, input_grads = importance_gradients(self.classifier, x, [], labels, self.target)
        s = pixel_weights(input_grads, self.floor)
        return (s * (x_hat - x).pow(2)).mean()


# ------------------------------------------------------------------------------ factories


def task_network(cfg: Config, device: torch.device | str, checkpoint: str | None,
                 term: str) -> Classifier:
    """The frozen classifier of ``checkpoint`` or ``task.checkpoint``; one-line error when
    neither is set."""
    path = checkpoint or cfg.task.checkpoint
    if not path:
        raise ConfigError(f"the {term} loss term needs a trained task network: set "
                          "task.checkpoint=RUN/best.pt (from `semjscc train-task`)")
    return load(path, device=device, kind="classifier")[0]


def feature_layers(classifier: Classifier, layers: Sequence[str] | str | None,
                   default_count: int = 1) -> list[str]:
    """``layers`` as a list; when empty the classifier's last ``default_count`` feature
    layers."""
    if isinstance(layers, str):
        return [layers]
    return list(layers) if layers else classifier.feature_layers()[-default_count:]


def _feature_term(cfg: Config, device: torch.device | str, name: str, weighting: str,
                  default_layers: tuple[list[str], int], checkpoint: str | None,
                  layers: list[str] | str | None, normalization: str | None = None,
                  floor: float | None = None, temperature: float | None = None,
                  target: str | None = None, layer_weights: list[float] | None = None,
                  ) -> FeatureImportanceTerm:
    """A :class:`FeatureImportanceTerm`; options left None take the ``importance`` section's
    values, ``layers`` the configured list or else T's last ``count`` feature layers
    (``default_layers`` = (configured list, count))."""
    imp = cfg.importance
    classifier = task_network(cfg, device, checkpoint, name)
    configured, count = default_layers
    return FeatureImportanceTerm(
        classifier, feature_layers(classifier, layers or configured, count), weighting,
        normalisation=normalization or imp.normalization,
        floor=imp.floor if floor is None else floor,
        temperature=temperature or imp.temperature, target=target or imp.target,
        layer_weights=layer_weights)


@LOSSES.register("importance")
def importance_term(cfg: Config, device: torch.device | str = "cpu",
                    checkpoint: str | None = None, layers: list[str] | str | None = None,
                    normalization: str | None = None, floor: float | None = None,
                    temperature: float | None = None, target: str | None = None,
                    layer_weights: list[float] | None = None) -> FeatureImportanceTerm:
    """``importance``: the Grad-CAM channel-weighted feature loss; options default to the
    ``importance`` section (layers: T's deepest feature layer)."""
    return _feature_term(cfg, device, "importance", "channel", (cfg.importance.layers, 1),
                         checkpoint, layers, normalization, floor, temperature, target,
                         layer_weights)


@LOSSES.register("unweighted")
def unweighted_term(cfg: Config, device: torch.device | str = "cpu",
                    checkpoint: str | None = None, layers: list[str] | str | None = None,
                    layer_weights: list[float] | None = None) -> FeatureImportanceTerm:
    """``unweighted``: the same feature loss with w_k = 1/K."""
    return _feature_term(cfg, device, "unweighted", "uniform", (cfg.importance.layers, 1),
                         checkpoint, layers, layer_weights=layer_weights)


@LOSSES.register("importance-element")
def element_term(cfg: Config, device: torch.device | str = "cpu",
                 checkpoint: str | None = None, layers: list[str] | str | None = None,
                 floor: float | None = None, target: str | None = None,
                 layer_weights: list[float] | None = None) -> FeatureImportanceTerm:
    """``importance-element``: element-wise weights |∂y^c/∂A| normalised to sum 1."""
    return _feature_term(cfg, device, "importance-element", "element",
                         (cfg.importance.layers, 1), checkpoint, layers,
                         floor=floor, target=target, layer_weights=layer_weights)


@LOSSES.register("importance-multilayer")
def multilayer_term(cfg: Config, device: torch.device | str = "cpu",
                    checkpoint: str | None = None, layers: list[str] | str | None = None,
                    normalization: str | None = None, floor: float | None = None,
                    temperature: float | None = None, target: str | None = None,
                    layer_weights: list[float] | None = None) -> FeatureImportanceTerm:
    """``importance-multilayer``: ``importance`` summed over several layers (default:
    ``importance.multilayer_layers``, else T's last three feature layers; factors 1/#layers)."""
    return _feature_term(cfg, device, "importance-multilayer", "channel",
                         (cfg.importance.multilayer_layers, 3), checkpoint, layers,
                         normalization, floor, temperature, target, layer_weights)


@LOSSES.register("pixel-importance")
def pixel_term(cfg: Config, device: torch.device | str = "cpu", checkpoint: str | None = None,
               floor: float | None = None, target: str | None = None) -> PixelImportanceTerm:
    """``pixel-importance``: pixel MSE weighted by |∂y^c/∂x| (the predecessor's weights)."""
    imp = cfg.importance
    return PixelImportanceTerm(task_network(cfg, device, checkpoint, "pixel-importance"),
                               floor=imp.floor if floor is None else floor,
                               target=target or imp.target)
