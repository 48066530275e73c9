"""The forecasting networks behind `rnnkit.models.forecaster.Forecaster`, one per model: a
recurrent encoder with a direct multi-step head, SegRNN, and an echo state network.

Each maps scaled windows x (B, L, C = n_targets + n_features) to scaled forecasts
(B, H, n_targets); `forecast_network` builds the one a `ForecasterConfig` names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from rnnkit import init as rinit
from rnnkit.errors import InputError
from rnnkit.layers import Recurrent, Trace
from rnnkit.models.normalization import InstanceNorm
from rnnkit.models.segrnn import SegRNN
from rnnkit.reservoir import ESN, ESNConfig

if TYPE_CHECKING:
    from rnnkit.models.forecaster import ForecasterConfig


class _NormalizedNet(nn.Module):
    """Normalises each window by itself (`InstanceNorm`), forecasts with `core`, restores the
    forecast's level and scale."""

    def __init__(self, config: ForecasterConfig) -> None:
        super().__init__()
        self.config = config
        self.norm = InstanceNorm(config.normalize, config.n_targets + config.n_features)

    def core(self, x: Tensor, trace: bool) -> tuple[Tensor, Trace | None]:
        """Normalised windows (B, L, C) -> forecasts (B, H, >= n_targets) and the trace."""
        raise NotImplementedError

    def forward(self, x: Tensor, trace: bool = False) -> Tensor | tuple[Tensor, Trace]:
        """(B, L, C) scaled windows -> (B, H, n_targets) scaled forecasts; with ``trace``
        also the `Trace` of the recurrent layers (their gates and states, step by step)."""
        x, stats = self.norm(x)
        y, record = self.core(x, trace)
        y = self.norm.restore(y[..., : self.config.n_targets], stats)
        return (y, record) if trace else y


class RecurrentNet(_NormalizedNet):
    r"""A recurrent encoder over the window, then one linear head for all H steps:

    .. math::
        h_L = \mathrm{RNN}(x_{t-L+1..t}), \qquad \hat y_{t+1..t+H} = W\,\mathrm{drop}(h_L) + b

    With ``normalize="last"`` the head starts at zero, so the untrained model *is*
    persistence ("tomorrow = today") and training moves away from it only where that helps;
    it also keeps inputs in range when the level leaves the training range (the tutorial's
    min-max scaling saturates there). With ``channel_independent`` one shared RNN sees each
    channel alone, as (B * C, L, 1).
    """

    def __init__(self, config: ForecasterConfig) -> None:
        super().__init__(config)
        c = config
        channels = c.n_targets + c.n_features
        inputs, outputs = (1, 1) if c.channel_independent else (channels, c.n_targets)
        self.rnn = Recurrent(c.cell, inputs, c.hidden_size, c.num_layers,
                             dropout=c.dropout if c.num_layers > 1 else 0.0)
        self.drop = nn.Dropout(c.output_dropout)
        self.head = nn.Linear(c.hidden_size, c.horizon * outputs)
        if c.cell != "irnn":  # IRNN's identity initialisation is its definition
            rinit.INITIALISERS[c.init](self.rnn)
        if c.init == "keras":  # Dense: glorot-uniform kernel, zero bias
            nn.init.xavier_uniform_(self.head.weight)
            nn.init.zeros_(self.head.bias)
        if c.normalize != "none":  # start at the normalisation's own forecast (persistence)
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    def core(self, x: Tensor, trace: bool) -> tuple[Tensor, Trace | None]:
        """The encoder's last output through the head."""
        c = self.config
        B, L, C = x.shape
        if c.channel_independent:
            x = x.permute(0, 2, 1).reshape(B * C, L, 1)
        out, _, *rest = self.rnn(x, trace=trace)  # (B or B*C, L, hidden)
        y = self.head(self.drop(out[:, -1]))
        if c.channel_independent:
            y = y.view(B, C, c.horizon).permute(0, 2, 1)
        else:
            y = y.view(B, c.horizon, c.n_targets)
        return y, rest[0] if trace else None


class SegRNNNet(_NormalizedNet):
    """`SegRNN` (Lin et al. 2023: segment-wise GRU, parallel multi-step decoding; channel by
    channel) on normalised windows."""

    def __init__(self, config: ForecasterConfig) -> None:
        super().__init__(config)
        c = config
        self.segrnn = SegRNN(c.lookback, c.horizon, c.n_targets + c.n_features,
                             c.segment_length, c.hidden_size, c.output_dropout)

    def core(self, x: Tensor, trace: bool) -> tuple[Tensor, Trace | None]:
        """SegRNN's forecast of every channel (B, H, C)."""
        return self.segrnn(x, trace=True) if trace else (self.segrnn(x), None)


def esn_config(c: ForecasterConfig) -> ESNConfig:
    """The echo state network a forecaster with ``cell="esn"`` uses."""
    return ESNConfig(input_size=c.n_targets + c.n_features, output_size=c.n_targets,
                     units=c.hidden_size, spectral_radius=c.spectral_radius,
                     leak_rate=c.leak_rate, ridge=c.ridge, seed=c.reservoir_seed)


class ReservoirNet(nn.Module):
    """An echo state network (`rnnkit.reservoir.ESN`), its readout fitted in closed form on
    the scaled training series (`rnnkit.models.forecaster.Forecaster` does that): a forecast
    warms the reservoir up on the window and, without feature columns, runs it in closed
    loop for the horizon. Its windows are not normalised, and it has no gates to trace."""

    def __init__(self, config: ForecasterConfig) -> None:
        super().__init__()
        self.config = config
        self.esn = ESN(esn_config(config))

    def forward(self, x: Tensor, trace: bool = False) -> Tensor:
        """(B, L, C) scaled windows -> (B, H, n_targets) scaled forecasts (float64 inside)."""
        c = self.config
        if trace:
            raise InputError("an echo state network has no gates to trace; its reservoir is "
                             "fixed (see rnnkit.reservoir)")
        warm = x.to(torch.float64)
        y = self.esn.predict(warm)[:, -1:] if c.n_features else self.esn.generate(c.horizon, warm)
        return y.to(x.dtype)


def forecast_network(config: ForecasterConfig) -> nn.Module:
    """The network ``config`` names: `ReservoirNet` (cell ``esn``), `SegRNNNet` (model
    ``segrnn``) or `RecurrentNet`."""
    if config.cell == "esn":
        return ReservoirNet(config)
    return SegRNNNet(config) if config.model == "segrnn" else RecurrentNet(config)
