"""Stateless channel blocks: the SNR is an argument, never state."""

from .awgn import awgn
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
from .power import power_normalize

__all__ = [
    "awgn",
    "complex_to_real",
    "db_to_lin",
    "lin_to_db",
    "measured_snr_db",
    "num_complex_symbols",
    "per_image_power",
    "power_normalize",
    "real_to_complex",
    "snr_db_to_noise_var",
]
