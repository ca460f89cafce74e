"""Quantize-and-forward (QF): the relay quantises what it received and forwards bits.

Paper protocol (``every_relay=False``): S -> P(E(S)) -> channel -> relay R1: y -> indices ->
exactly N_Q·b bits per block through noiseless pipes (perfect channel coding, any number of
further relays) -> destination: bits -> ŷ (centres) -> D(ŷ).

Extension (``every_relay=True``, beyond the paper): each of the r relays quantises its
received signal to the nearest centres, re-normalises the power and re-transmits them over
its own noisy hop; the destination decodes the last channel output.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..channels import AWGN, Channel, power_normalize
from ..channels.functional import as_batch_snr
from ..channels.quantize import Codebook, pack_indices, unpack_indices
from .base import JSCCModel
from .link import channel_output, pad_to_multiple


class QuantizeForward(nn.Module):
    """QF link around a trained (frozen) DeepJSCC pair and a K-means codebook.

    Forward returns ``{"x_hat": (B, 3, H, W), "bits": bits per image on the pipe}``.
    """

    def __init__(self, model: JSCCModel, codebook: Codebook, relays: int = 1,
                 every_relay: bool = False, channel: Channel | None = None) -> None:
        super().__init__()
        if relays < 1:
            raise ValueError(f"QF needs at least one relay, got relays={relays}")
        self.model, self.codebook = model, codebook
        self.relays, self.every_relay = relays, every_relay
        self.channel = channel if channel is not None else AWGN()

    def through_pipe(self, y: Tensor) -> Tensor:
        """Relay quantisation -> packed bitstream -> destination dequantisation."""
        indices = self.codebook.quantize(y)
        count, bits = indices.shape[1], self.codebook.bits_per_block
        received = torch.stack([unpack_indices(pack_indices(row, bits), bits, count)
                                for row in indices]).to(y.device)
        return self.codebook.dequantize(received, y.shape)

    def forward(self, x: Tensor, snr_db: float | Tensor,
                generator: torch.Generator | None = None) -> dict[str, Tensor | int]:
        xp, (h, w) = pad_to_multiple(x, self.model.downsampling_factor)
        snr = as_batch_snr(snr_db, x.shape[0], x.device)
        y = channel_output(self.model, xp, self.channel, snr, generator)
        if self.every_relay:
            for _ in range(self.relays):
                centres = self.codebook.dequantize(self.codebook.quantize(y), y.shape)
                y = self.channel(power_normalize(centres), snr, generator=generator)
            x_hat = self.model.decode(y, snr)
        else:
            x_hat = self.model.decode(self.through_pipe(y), snr)
        bits = y[0].numel() // self.codebook.n_q * self.codebook.bits_per_block
        return {"x_hat": x_hat[..., :h, :w], "bits": bits}
