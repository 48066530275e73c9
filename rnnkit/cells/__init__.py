"""Recurrent cells: one timestep each, written as their equations."""

from rnnkit.cells.base import Cell
from rnnkit.cells.elman import ElmanCell, RNNGates, RNNState
from rnnkit.cells.gru import GRUCell, GRUGates, GRUState
from rnnkit.cells.lstm import CIFGLSTMCell, LSTMCell, LSTMGates, LSTMState, PeepholeLSTMCell

__all__ = [
    "Cell",
    "CIFGLSTMCell",
    "ElmanCell",
    "GRUCell",
    "GRUGates",
    "GRUState",
    "LSTMCell",
    "LSTMGates",
    "LSTMState",
    "PeepholeLSTMCell",
    "RNNGates",
    "RNNState",
]
