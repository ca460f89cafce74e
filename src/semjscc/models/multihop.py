"""Multi-hop decode-and-forward (DF) over AWGN hops with one shared DeepJSCC pair.

Hop i: z_i = P(E(x_i, snr_i)), y_i = z_i + n_i, x_{i+1} = D(y_i, snr_i), with x_0 = S and
S_hat = x_{r+1}. Every hop draws its own noise at its own SNR. Relays (hops before the last)
optionally clamp their decoded image to [0, 1] before re-encoding it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..channels import awgn, power_normalize
from ..channels.functional import as_batch_snr
from .deepjscc import DeepJSCC


def pad_to_multiple(x: Tensor, multiple: int) -> tuple[Tensor, tuple[int, int]]:
    """Replicate-pad (B, C, H, W) on the bottom/right to multiples of ``multiple``."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
    return x, (h, w)


class MultiHopDF(nn.Module):
    """DF chain of ``len(hop_snrs_db) - 1`` relays around a shared :class:`DeepJSCC`.

    Forward returns a dict with stable keys:
        ``x_hat``: (B, 3, H, W) destination output (unbounded, like the decoder);
        ``hop_images``: list of the decoded image after every hop (the last is ``x_hat``).
    Any H×W is accepted: inputs are padded to a multiple of 4 and outputs cropped back.
    """

    def __init__(self, model: DeepJSCC, relay_clamp: bool = True) -> None:
        super().__init__()
        self.model = model
        self.relay_clamp = relay_clamp

    def hop(self, x: Tensor, snr_db: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """One point-to-point transmission: encode, normalise, AWGN, decode."""
        z = power_normalize(self.model.encode(x, snr_db))
        return self.model.decode(awgn(z, snr_db, generator=generator), snr_db)

    def forward(
        self,
        x: Tensor,
        hop_snrs_db: Sequence[float | Tensor],
        generator: torch.Generator | None = None,
    ) -> dict[str, Tensor | list[Tensor]]:
        if len(hop_snrs_db) < 1:
            raise ValueError("need at least one hop SNR")
        xp, (h, w) = pad_to_multiple(x, self.model.downsampling_factor)
        current = xp
        hop_images: list[Tensor] = []
        last = len(hop_snrs_db) - 1
        for i, snr in enumerate(hop_snrs_db):
            snr_b = as_batch_snr(snr, x.shape[0], x.device)
            current = self.hop(current, snr_b, generator)
            hop_images.append(current[..., :h, :w])
            if i < last and self.relay_clamp:
                current = current.clamp(0.0, 1.0)
        return {"x_hat": hop_images[-1], "hop_images": hop_images}
