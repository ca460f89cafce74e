"""Figures drawn from tidy results CSVs."""

from .lines import axis_label, figure_of, filter_rows, plot_lines

__all__ = ["axis_label", "figure_of", "filter_rows", "plot_lines"]
