"""Reference baselines evaluated next to DeepJSCC (see :mod:`.separation`)."""

from .separation import (
    CODECS,
    SEPARATION_CODECS,
    SEPARATION_METHODS,
    BudgetUnreachableError,
    CodecUnavailableError,
    Coded,
    SeparationSystem,
    available_codecs,
    capacity_bits,
    code_to_budget,
    codec_from_method,
    decode_file,
    encode_to_budget,
    require_codec,
    separation_system,
    smallest_file_bits,
    unreachable_note,
)

__all__ = [
    "CODECS", "SEPARATION_CODECS", "SEPARATION_METHODS", "BudgetUnreachableError",
    "CodecUnavailableError", "Coded", "SeparationSystem", "available_codecs", "capacity_bits",
    "code_to_budget", "codec_from_method", "decode_file", "encode_to_budget", "require_codec",
    "separation_system", "smallest_file_bits", "unreachable_note",
]
