"""Echo state networks: a fixed random reservoir and a ridge readout solved in closed form."""

from rnnkit.reservoir.esn import ESN, ESNConfig
from rnnkit.reservoir.observables import nrmse, spectral_radius
from rnnkit.reservoir.readout import Ridge
from rnnkit.reservoir.reservoir import Reservoir

__all__ = ["ESN", "ESNConfig", "Reservoir", "Ridge", "nrmse", "spectral_radius"]
