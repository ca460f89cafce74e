"""Multi-hop decode-and-forward (DF) with one shared DeepJSCC pair, or one pair per hop.

Hop i: x_{i+1} = D_i(channel(P(E_i(x_i, snr_i)), snr_i), snr_i), with x_0 = S and
S_hat = x_{r+1}. With a shared pair (our reading of the paper's "single encoder-decoder
pair", ``link.shared_codec: true``) E_i = E and D_i = D; with :class:`HopCodecs` hop i has
its own pair (the paper's notation f_i, d_i read literally). Every hop draws its own noise
(and fading) at its own SNR. Relays (hops before the last) optionally clamp their decoded
image to [0, 1] before re-encoding it. With ``grad_checkpoint`` (``train.grad_checkpoint``)
each hop's encoder and decoder activations are recomputed in backward, so training keeps
those of one hop at a time instead of r + 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..channels import AWGN, Channel
from ..channels.functional import as_batch_snr
from ..config import ModelConfig
from .base import HopCodecs, JSCCModel
from .link import hop, pad_to_multiple
from .loading import create_model


def create_codecs(cfg: ModelConfig, relays: int, shared: bool = True) -> JSCCModel | HopCodecs:
    """The trainable pairs of an r-relay DF link: one shared pair, or r + 1 pairs."""
    if shared:
        return create_model(cfg)
    return HopCodecs([create_model(cfg) for _ in range(relays + 1)])


class MultiHopDF(nn.Module):
    """DF chain of ``len(hop_snrs_db) - 1`` relays around a shared :class:`JSCCModel`, or
    around :class:`HopCodecs` (then exactly one SNR per pair).

    Forward returns a dict with stable keys:
        ``x_hat``: (B, 3, H, W) destination output (unbounded, like the decoder);
        ``hop_images``: list of the decoded image after every hop (the last is ``x_hat``).
    Any H×W is accepted: inputs are padded to a multiple of f and outputs cropped back.
    """

    def __init__(self, model: JSCCModel | HopCodecs, channel: Channel | None = None,
                 relay_clamp: bool = True, grad_checkpoint: bool = False) -> None:
        super().__init__()
        self.model = model
        self.channel = channel if channel is not None else AWGN()
        self.relay_clamp = relay_clamp
        self.grad_checkpoint = grad_checkpoint

    def forward(self, x: Tensor, hop_snrs_db: Sequence[float | Tensor],
                generator: torch.Generator | None = None) -> dict[str, Tensor | list[Tensor]]:
        if len(hop_snrs_db) < 1:
            raise ValueError("need at least one hop SNR")
        per_hop = isinstance(self.model, HopCodecs)
        if per_hop and len(hop_snrs_db) != len(self.model):
            raise ValueError(f"these {len(self.model)} per-hop pairs serve exactly "
                             f"{len(self.model) - 1} relays, not {len(hop_snrs_db) - 1}")
        current, (h, w) = pad_to_multiple(x, self.model.downsampling_factor)
        hop_images: list[Tensor] = []
        last = len(hop_snrs_db) - 1
        for i, snr in enumerate(hop_snrs_db):
            snr_b = as_batch_snr(snr, x.shape[0], x.device)
            codec = self.model[i] if per_hop else self.model
            current = hop(codec, current, self.channel, snr_b, generator,
                          self.grad_checkpoint and torch.is_grad_enabled())
            hop_images.append(current[..., :h, :w])
            if i < last and self.relay_clamp:
                current = current.clamp(0.0, 1.0)
        return {"x_hat": hop_images[-1], "hop_images": hop_images}
