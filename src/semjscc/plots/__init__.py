"""Figures drawn from tidy results CSVs."""

from .grid import image_grid
from .lines import axis_label, figure_of, filter_rows, plot_lines, save_figure

__all__ = ["axis_label", "figure_of", "filter_rows", "image_grid", "plot_lines", "save_figure"]
