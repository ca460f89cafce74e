"""``link``: the multi-hop link a model is trained over."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError
from .checks import checked, relay_counts, snr_values


@dataclass
class LinkConfig:
    """The multi-hop link: ``relays`` DF relays, hence ``relays + 1`` hops over ``channel``
    (a mapping: ``name`` of a registered channel plus its options, e.g.
    ``{name: rician, k_factor: 100, equalization: zf}``)."""

    relays: int = checked(0, check=relay_counts)
    # one value for every hop, or a list with one value per hop
    snr_db: Any = checked(-5.0, check=snr_values)
    relay_clamp: bool = True  # relays clamp their decoded image to [0, 1] before re-encoding
    channel: dict[str, Any] = field(default_factory=lambda: {"name": "awgn"})
    # one encoder-decoder pair for every hop (our reading of the paper), or r + 1 pairs
    shared_codec: bool = True

    def hop_snrs_db(self, relays: int | None = None) -> list[float]:
        """One SNR per hop at ``relays`` relays (default: the trained number)."""
        r = self.relays if relays is None else relays
        if isinstance(self.snr_db, (list, tuple)):
            if len(self.snr_db) != r + 1:
                raise ConfigError(
                    f"link.snr_db has {len(self.snr_db)} values but relays={r} needs {r + 1} "
                    "(one per hop), or give a single value"
                )
            return [float(s) for s in self.snr_db]
        return [float(self.snr_db)] * (r + 1)
