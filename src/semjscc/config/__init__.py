"""Experiment configuration: one dataclass per section (each check next to its field), one
YAML per experiment, ``--set`` overrides on top; derived configs are built as objects.

The resolved config is saved with every run and embedded in every checkpoint, so a
checkpoint rebuilds its model without flags.
"""

from ..errors import ConfigError
from .checks import MAX_RELAYS, checked, parse_ratio
from .coerce import config_differences, derive, from_dict, to_dict, validate
from .data import DataConfig
from .dhd import DHDConfig
from .digital import DigitalConfig
from .eo import EOConfig
from .evaluation import EvalConfig
from .files import (
    inline_yaml,
    list_presets,
    load_config,
    parse_override,
    read_config_tree,
    resolve_config_path,
    save_config,
    with_overrides,
)
from .importance import ImportanceConfig
from .link import LinkConfig
from .model import ModelConfig
from .root import Config
from .sweep import PAPER_QF_SETTINGS, JudgeConfig, SweepConfig
from .task import TaskConfig
from .train import TrainConfig

__all__ = [
    "MAX_RELAYS", "PAPER_QF_SETTINGS", "Config", "ConfigError", "DHDConfig", "DataConfig",
    "DigitalConfig",    "EOConfig", "EvalConfig", "ImportanceConfig", "JudgeConfig", "LinkConfig", "ModelConfig",
    "SweepConfig", "TaskConfig", "TrainConfig", "checked", "config_differences", "derive",
    "from_dict", "inline_yaml", "list_presets", "load_config", "parse_override", "parse_ratio",
    "read_config_tree", "resolve_config_path", "save_config", "to_dict", "validate",
    "with_overrides",
]
