"""Training objectives: registered loss terms combined by weight, and the DHD losses."""

from .base import LossTerm, WeightedLoss, build_loss, freeze, method_label, term_weights
from .dhd import DHDLoss, semantic_hash_loss
from .terms import HashTerm, LPIPSTerm, MSETerm

__all__ = ["DHDLoss", "HashTerm", "LPIPSTerm", "LossTerm", "MSETerm", "WeightedLoss",
           "build_loss", "freeze", "method_label", "semantic_hash_loss", "term_weights"]
