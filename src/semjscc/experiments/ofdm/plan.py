"""The plan of the OFDM study (``experiment: ofdm``): one Bourtsoulatze DJSCC per training
channel, the task classifier that judges accuracy, the test channels (speed × CSI), the
results schema, and the checks made before anything runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ...baselines.digital import check_digital
from ...channels import OFDM, Channel, build_channel
from ...config import Config, ConfigError, derive
from ...evaluation.results import interval_columns
from ..djscc import SingleHopPlan, check_single_label_data, djscc_for, djscc_model
from ..units import TrainingRun, check_distinct_names, check_distinct_values

OFDM_HEADLINE = ["accuracy", "psnr", "ssim"]
OFDM_SETTING = ["method", "train_channel", "channel", "tdl_model", "speed_mps", "csi", "snr_db",
                "codec", "mcs", "link"]
OFDM_COLUMNS = [
    "method", "train_channel", "channel", "equalization", "k_factor", "tdl_model", "speed_mps",
    "csi", "pilot_overhead", "requested_cr", "realized_cr", "k", "channel_uses", "snr_db",
    "psnr", "ssim", "ms_ssim", "accuracy", "accuracy_clean", *interval_columns(OFDM_HEADLINE),
    "n_images", "n_unreachable", "codec", "mcs", "mcs_index", "link", "tb_bits", "bler",
    "n_lost", "budget_bits", "used_bits", "seed", "train_seed", "checkpoint", "classifier",
    "note",
]
METHOD_PREFIX = "djscc-"  # + the training channel's name


@dataclass(frozen=True)
class OFDMRun(TrainingRun):
    """One DJSCC trained over the channel ``train_channel`` (a key of
    ``ofdm.train_channels``)."""

    train_channel: str
    cfg: Config
    dir: Path

    @property
    def method(self) -> str:
        return f"{METHOD_PREFIX}{self.train_channel}"

    @property
    def label(self) -> str:
        return f"trained over {self.train_channel}"


@dataclass
class OFDMPlan(SingleHopPlan):
    runs: list[OFDMRun] = field(default_factory=list)

    def test_channels(self, csis: list[str] | None = None) -> list[OFDM]:
        """``ofdm.channel`` at every speed × CSI (``csis``: default ``ofdm.csi``)."""
        study = self.cfg.ofdm
        return [build_channel({**study.channel, "speed_mps": speed, "csi": csi})
                for speed in study.speeds for csi in (csis or study.csi)]


def build_plan(cfg: Config, out: Path) -> OFDMPlan:
    """One DJSCC per training channel (and training seed): the Bourtsoulatze DJSCC at
    ``ofdm.ratio``, one hop over the channel, a uniform train SNR over ``ofdm.train_snr_db``."""
    study = cfg.ofdm
    plan = OFDMPlan(cfg, out)
    for name, spec in study.train_channels.items():
        for seed, suffix in cfg.training_seeds():
            run_cfg = derive(cfg, seed=seed, model=djscc_model(study.ratio),
                             link={"channel": spec, "relays": 0},
                             train={"snr_db_range": list(study.train_snr_db)})
            plan.runs.append(OFDMRun(name, run_cfg, out / "djscc" / f"{name}{suffix}"))
    return plan


def channel_uses(channel: Channel, k: int) -> int:
    """Channel uses of an image of ``k`` data symbols: k on a flat channel, its slots'
    resource elements (data, pilots, padding) over OFDM."""
    return channel.channel_uses(k) if isinstance(channel, OFDM) else k


def check_prerequisites(cfg: Config) -> None:
    """Refuse early, in one line: missing or multi-label data, empty grids, a test channel
    that is not ``ofdm``, bad channel options, a digital section that cannot run, and sweep
    values naming one unit twice."""
    study = cfg.ofdm
    if not (study.train_channels and study.speeds and study.csi and study.test_snr_db):
        raise ConfigError("ofdm.train_channels, speeds, csi and test_snr_db must each list at "
                          "least one value")
    if study.channel.get("name") != "ofdm":
        raise ConfigError(f"ofdm.channel.name={study.channel.get('name')!r}: the test channel "
                          "must be an ofdm mapping, e.g. {name: ofdm, model: tdl-c}")
    for key in ("speed_mps", "csi"):
        if key in study.channel:
            raise ConfigError(f"ofdm.channel.{key}: set it with ofdm.speeds / ofdm.csi, not "
                              "in the test channel")
    check_distinct_values("ofdm.speeds", study.speeds, "m/s")
    check_distinct_values("ofdm.test_snr_db", study.test_snr_db)
    check_distinct_names("ofdm.csi", study.csi)
    check_single_label_data(cfg, "ofdm")
    for spec in study.train_channels.values():
        build_channel(spec)
    plan = OFDMPlan(cfg, Path("."))
    channels = plan.test_channels(sorted({*study.csi, *study.digital_csi}))
    size = cfg.data.image_size
    check_digital(cfg.digital, [djscc_for(study.ratio).num_symbols(size, size)], channels[0])
