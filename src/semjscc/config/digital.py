"""``digital``: the practical digital chain (:mod:`semjscc.baselines.digital`) that the
experiments evaluate beside DeepJSCC: codec + 5G NR transport block + QAM."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .checks import checked, one_of


def _mcs_list(v: Any) -> str | None:
    bad = [m for m in v if m != "adaptive" and (isinstance(m, bool) or not isinstance(m, int))]
    return None if not bad else (f"holds {bad[0]!r}; give MCS indices of 38.214 table 1 "
                                 "(integers 3..28) or adaptive")


@dataclass
class DigitalConfig:
    """Rows of the digital chain: every codec × MCS at the DeepJSCC's k channel uses and
    every test SNR (empty ``codecs``: no digital rows). ``mcs``: fixed indices, and/or
    ``adaptive`` (the highest MCS whose table BLER at the SNR is at most 10 %); ``link``:
    how each TB is simulated."""

    codecs: list[str] = field(default_factory=list)
    mcs: list[Any] = checked(factory=lambda: ["adaptive"], check=_mcs_list)
    # bit-true: Sionna's TB encoder, the channel and the LDPC decoder for every image;
    # abstraction: each TB lost with Sionna's tabulated BLER at its SNR (paper-scale grids)
    link: str = checked("bit-true", check=one_of("bit-true", "abstraction"))
