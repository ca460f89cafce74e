"""Experiments: one subpackage per study, each an :class:`~.runner.Experiment` registered in
``EXPERIMENTS`` under the name a config's ``experiment`` field gives. Importing this package
registers them all; :func:`reproduce` runs any of them."""

from . import eo, importance, multihop, ofdm  # noqa: F401  (register the experiments)
from .runner import Experiment, reproduce, run_experiment

__all__ = ["Experiment", "reproduce", "run_experiment"]
