"""Networks: DeepJSCC pairs (one file per model, registered in ``MODELS``), the links that
carry them over channels (DF, QF), the DHD hashing network, backbones, and loading.

>>> from semjscc.models import create_model, load  # doctest: +SKIP
"""

from __future__ import annotations

from . import backbones, classifiers, yilmaz2023  # noqa: F401  (registration)
from .base import HopCodecs, JSCCModel
from .bourtsoulatze2019 import Bourtsoulatze2019DJSCC
from .classifiers import Classifier, create_classifier
from .dhd import DHD, create_dhd
from .link import channel_output, hop, pad_to_multiple
from .loading import create_model, load
from .multihop import MultiHopDF
from .pretrained import WeightsError, load_pretrained, resolve_weights
from .qf import QuantizeForward
from .yilmaz2023 import Yilmaz2023DeepJSCC

__all__ = [
    "Bourtsoulatze2019DJSCC",
    "HopCodecs",
    "DHD",
    "Classifier",
    "JSCCModel",
    "MultiHopDF",
    "QuantizeForward",
    "WeightsError",
    "Yilmaz2023DeepJSCC",
    "channel_output",
    "create_classifier",
    "create_dhd",
    "create_model",
    "hop",
    "load",
    "load_pretrained",
    "pad_to_multiple",
    "resolve_weights",
]
