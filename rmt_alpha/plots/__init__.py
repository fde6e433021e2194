"""Figures. Every function takes precomputed results (from the library), draws on an optional `ax` and
returns the Axes (panels) or the Figure (several panels); none computes theory or calls `plt.show()`. Files are
written atomically by `save_figure`.
"""

from rmt_alpha.plots._figures import (
    figure_amazon_curves as figure_amazon_curves,
    figure_phase_maps as figure_phase_maps,
    figure_theory_check as figure_theory_check,
    save_and_close as save_and_close,
)
from rmt_alpha.plots._maps import plot_alpha_map as plot_alpha_map, plot_gain_map as plot_gain_map
from rmt_alpha.plots._panels import (
    STYLE as STYLE,
    plot_accuracy_curve as plot_accuracy_curve,
    plot_accuracy_vs_sharing as plot_accuracy_vs_sharing,
    plot_alpha_statistics as plot_alpha_statistics,
    plot_amazon_curve as plot_amazon_curve,
    plot_decision_histogram as plot_decision_histogram,
    plot_gap_vs_dimension as plot_gap_vs_dimension,
    plot_method_comparison as plot_method_comparison,
    save_figure as save_figure,
)
from rmt_alpha.plots._sources import (
    plot_sources_plane as plot_sources_plane,
    plot_sources_simplex as plot_sources_simplex,
)
from rmt_alpha.plots._transfer_panels import (
    figure_prediction_grid as figure_prediction_grid,
    plot_alpha_spread_vs_null as plot_alpha_spread_vs_null,
    plot_paired_gains as plot_paired_gains,
)

__all__ = [
    "STYLE",
    "figure_amazon_curves",
    "figure_phase_maps",
    "figure_prediction_grid",
    "figure_theory_check",
    "plot_accuracy_curve",
    "plot_accuracy_vs_sharing",
    "plot_alpha_map",
    "plot_alpha_spread_vs_null",
    "plot_alpha_statistics",
    "plot_amazon_curve",
    "plot_decision_histogram",
    "plot_gain_map",
    "plot_gap_vs_dimension",
    "plot_method_comparison",
    "plot_paired_gains",
    "plot_sources_plane",
    "plot_sources_simplex",
    "save_and_close",
    "save_figure",
]
