"""Diagnostics as plain functions: gradient flow through time, spectra, gate statistics."""

from rnnkit.diagnose.gates import GateStats, gate_statistics, gate_summary
from rnnkit.diagnose.gradients import GradientFlow, gradient_flow
from rnnkit.diagnose.spectral import (
    recurrent_spectra,
    singular_values,
    spectral_radius,
    tanh_gradient_bound,
)

__all__ = [
    "GateStats",
    "GradientFlow",
    "gate_statistics",
    "gate_summary",
    "gradient_flow",
    "recurrent_spectra",
    "singular_values",
    "spectral_radius",
    "tanh_gradient_bound",
]
