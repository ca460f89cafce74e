"""Training objectives: DeepJSCC methods and the Deep Hash Distillation losses."""

from .dhd import DHDLoss, semantic_hash_loss
from .objective import METHODS, JSCCObjective, build_objective

__all__ = ["DHDLoss", "JSCCObjective", "METHODS", "build_objective", "semantic_hash_loss"]
