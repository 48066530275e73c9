"""Layers that run cells over time."""

from rnnkit.layers.recurrent import CELLS, Recurrent
from rnnkit.layers.trace import DirectionTrace, Trace

__all__ = ["CELLS", "DirectionTrace", "Recurrent", "Trace"]
