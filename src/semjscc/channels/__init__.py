"""Channel blocks: the SNR is an argument, never state. Register new channels in
:data:`semjscc.registry.CHANNELS` (one file per channel)."""

from .awgn import AWGN, awgn
from .base import EQUALIZATIONS, Channel, ChannelOutput, build_channel, channel_param_columns
from .fading import FadingChannel, Rayleigh, Rician, apply_fading, rayleigh, rician, sample_gains
from .functional import (
    complex_to_real,
    db_to_lin,
    lin_to_db,
    measured_snr_db,
    num_complex_symbols,
    per_image_power,
    real_to_complex,
    snr_db_to_noise_var,
)
from .nakagami import Nakagami
from .ofdm import OFDM
from .power import power_normalize

__all__ = [
    "AWGN",
    "EQUALIZATIONS",
    "Channel",
    "ChannelOutput",
    "FadingChannel",
    "Nakagami",
    "OFDM",
    "Rayleigh",
    "Rician",
    "apply_fading",
    "awgn",
    "build_channel",
    "channel_param_columns",
    "complex_to_real",
    "db_to_lin",
    "lin_to_db",
    "measured_snr_db",
    "num_complex_symbols",
    "per_image_power",
    "power_normalize",
    "rayleigh",
    "real_to_complex",
    "rician",
    "sample_gains",
    "snr_db_to_noise_var",
]
