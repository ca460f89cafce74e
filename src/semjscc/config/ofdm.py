"""``ofdm``: the study of DeepJSCC and the digital chain over OFDM on 3GPP channels."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .checks import checked, range_pair, ratio


def _default_train_channels() -> dict[str, dict[str, Any]]:
    return {"awgn": {"name": "awgn"},
            "tdl": {"name": "ofdm", "model": "tdl-c", "speed_mps": 30.0, "csi": "ls"}}


@dataclass
class OFDMStudyConfig:
    """``experiment: ofdm``: one Bourtsoulatze DJSCC (loss ``train.loss``) at ratio ``ratio``
    per entry of ``train_channels`` (name -> channel mapping), trained over a uniform SNR in
    ``train_snr_db``; each evaluated over ``channel`` (an ``ofdm`` mapping) at every UE speed
    of ``speeds`` × receiver CSI of ``csi`` × ``test_snr_db``, with the digital chain
    (``digital`` section) at each speed over ``digital_csi``."""

    ratio: str = checked("1/6", check=ratio)
    train_snr_db: list[float] = checked(factory=lambda: [0.0, 20.0], check=range_pair)
    train_channels: dict[str, dict[str, Any]] = field(default_factory=_default_train_channels)
    channel: dict[str, Any] = field(default_factory=lambda: {"name": "ofdm", "model": "tdl-c"})
    speeds: list[float] = field(default_factory=lambda: [3.0, 30.0])
    csi: list[str] = field(default_factory=lambda: ["ls", "perfect"])
    digital_csi: list[str] = field(default_factory=lambda: ["ls"])
    test_snr_db: list[float] = field(default_factory=lambda: [-5.0, 0.0, 5.0, 10.0, 15.0, 20.0])
