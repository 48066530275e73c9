"""rnnkit: recurrent neural networks you can see inside."""

from importlib.metadata import PackageNotFoundError, version

from rnnkit.cells import CIFGLSTMCell, ElmanCell, GRUCell, LSTMCell, LSTMState, PeepholeLSTMCell
from rnnkit.layers import Recurrent, Trace

try:
    __version__ = version("rnnkit")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"

__all__ = [
    "CIFGLSTMCell",
    "ElmanCell",
    "GRUCell",
    "LSTMCell",
    "LSTMState",
    "PeepholeLSTMCell",
    "Recurrent",
    "Trace",
    "__version__",
]
