"""Training objectives: registered loss terms combined by weight (pixel, hash, LPIPS and
semantic-importance terms), and the DHD losses."""

from .base import LossTerm, WeightedLoss, build_loss, freeze, method_label, term_weights
from .dhd import DHDLoss, semantic_hash_loss
from .importance import FeatureImportanceTerm, PixelImportanceTerm
from .terms import HashTerm, LPIPSTerm, MSETerm

__all__ = ["DHDLoss", "FeatureImportanceTerm", "HashTerm", "LPIPSTerm", "LossTerm", "MSETerm",
           "PixelImportanceTerm", "WeightedLoss", "build_loss", "freeze", "method_label",
           "semantic_hash_loss", "term_weights"]
