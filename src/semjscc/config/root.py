"""The whole configuration of a run: one section per component."""

from __future__ import annotations

from dataclasses import dataclass, field

from .checks import checked, seed
from .data import DataConfig
from .dhd import DHDConfig
from .digital import DigitalConfig
from .eo import EOConfig
from .evaluation import EvalConfig
from .importance import ImportanceConfig
from .link import LinkConfig
from .model import ModelConfig
from .ofdm import OFDMStudyConfig
from .sweep import JudgeConfig, SweepConfig
from .task import TaskConfig
from .train import TrainConfig


@dataclass
class Config:
    """Every section of a run; ``experiment`` names what ``semjscc reproduce`` runs (a
    registered experiment: ``multihop-dhd``, the core paper; ``eo-semloss``, seed 001;
    ``importance``, seed 002; ``ofdm``, OFDM over 3GPP channels)."""

    name: str = "experiment"
    experiment: str = "multihop-dhd"
    seed: int = checked(0, check=seed)
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    link: LinkConfig = field(default_factory=LinkConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    sweep: SweepConfig = field(default_factory=SweepConfig)
    dhd: DHDConfig = field(default_factory=DHDConfig)
    task: TaskConfig = field(default_factory=TaskConfig)
    judges: JudgeConfig = field(default_factory=JudgeConfig)
    eo: EOConfig = field(default_factory=EOConfig)
    importance: ImportanceConfig = field(default_factory=ImportanceConfig)
    digital: DigitalConfig = field(default_factory=DigitalConfig)
    ofdm: OFDMStudyConfig = field(default_factory=OFDMStudyConfig)

    def training_seeds(self) -> list[tuple[int, str]]:
        """(seed, run-directory suffix) of every training of a compared model: each of
        ``sweep.seeds`` with suffix ``_seed<s>``, or ``seed`` alone with no suffix."""
        return [(s, f"_seed{s}") for s in self.sweep.seeds] or [(self.seed, "")]
