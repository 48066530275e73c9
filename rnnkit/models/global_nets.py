r"""The networks of the global forecaster: one recurrent network shared by every series.

All three read a batch of `rnnkit.data.panel_windows.PanelWindows`: scaled targets z over
the window's context, covariates over the whole window, static inputs, the series' index and
log s (the window's scale, DeepAR's input). Each step's input is

    [z_t, z_{t-l} for each lag l, covariates_t, static, embedded categories,
     series embedding, log s]

and an rnnkit `Recurrent` (any of its cells; ``trace=True`` records every gate) runs over it.

- `MQRNN` (Wen et al. 2017): the encoder's last state and the known-future covariates give
  every horizon step its quantiles at once (direct, no sampling; pinball loss), added to a
  linear map of the context values to the horizon (LSTNet's autoregressive highway).
- `DeepAR` (Salinas et al. 2020): autoregressive; at step t the input holds z_{t-1} and the
  network emits the parameters of z_t's distribution (a `Likelihood`); trained on the
  context and horizon steps with the true past fed in, forecast by sampling paths.
- `ESRNN` (Smyl 2020): per-series level and seasonality smoothing (Holt-Winters,
  multiplicative) whose coefficients and initial seasonal indices are learned per series,
  jointly with a global LSTM that reads the deseasonalised, level-normalised log values and
  outputs the horizon's quantiles on that log scale.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnkit.layers import Recurrent
from rnnkit.models.likelihoods import LIKELIHOODS


class _Inputs(nn.Module):
    """Builds each step's input vector (see the module docstring)."""

    def __init__(self, lags: tuple[int, ...], n_cov: int, n_static: int,
                 cat_sizes: tuple[int, ...], n_series: int, series_dim: int) -> None:
        super().__init__()
        self.lags = tuple(lags)
        self.categories = nn.ModuleList(nn.Embedding(n, _dim(n)) for n in cat_sizes)
        self.series = nn.Embedding(n_series, series_dim) if series_dim else None
        self.static_size = (n_static + sum(_dim(n) for n in cat_sizes) + series_dim + 1)
        self.size = 1 + len(self.lags) + n_cov + self.static_size

    def static(self, static: Tensor, categories: Tensor, series: Tensor, log_scale: Tensor
               ) -> Tensor:
        """(B, static_size): what does not change along the window."""
        parts = [static, *(e(categories[:, j]) for j, e in enumerate(self.categories))]
        if self.series is not None:
            parts.append(self.series(series))
        return torch.cat([*parts, log_scale[:, None]], dim=1)

    def steps(self, z: Tensor, covariates: Tensor, fixed: Tensor, first: int, last: int
              ) -> Tensor:
        """(B, last - first, size): inputs of window steps first..last-1 whose value slot
        holds z at the same step (``z`` (B, >= last) in window steps)."""
        n = last - first
        columns = [z[:, first:last]] + [z[:, first - lag : last - lag] for lag in self.lags]
        values = torch.stack(columns, dim=-1)
        return torch.cat([values, covariates[:, first:last],
                          fixed[:, None, :].expand(-1, n, -1)], dim=-1)


def _dim(cardinality: int) -> int:
    """Embedding width for a categorical input with this many levels."""
    return min(16, (cardinality + 1) // 2 + 1)


class MQRNN(nn.Module):
    """Direct multi-horizon quantile forecaster (forward returns (B, H, Q) sorted quantiles of
    the scaled values)."""

    def __init__(self, cell: str, hidden_size: int, num_layers: int, dropout: float,
                 lookback: int, horizon: int, pre: int, n_quantiles: int, inputs: _Inputs,
                 n_future: int) -> None:
        super().__init__()
        self.lookback, self.horizon, self.pre = lookback, horizon, pre
        self.inputs = inputs
        self.rnn = Recurrent(cell, inputs.size, hidden_size, num_layers, dropout=dropout)
        context = max(8, hidden_size // 4)
        self.n_future = n_future
        self.contexts = nn.Sequential(
            nn.Linear(hidden_size + horizon * n_future, hidden_size), nn.ReLU(),
            nn.Linear(hidden_size, horizon * context))
        self.local = nn.Sequential(nn.Linear(context + n_future + 1, hidden_size), nn.ReLU(),
                                   nn.Linear(hidden_size, n_quantiles))
        self.context = context
        # a linear map from the context values straight to the horizon (LSTNet's
        # autoregressive highway, Lai et al. 2018): the recurrent part learns what it misses
        self.highway = nn.Linear(lookback, horizon)

    def rnn_inputs(self, z: Tensor, covariates: Tensor, static: Tensor, categories: Tensor,
                   series: Tensor, phase: Tensor, log_scale: Tensor) -> Tensor:
        """What the encoder reads: (B, L, size), one step per context row."""
        fixed = self.inputs.static(static, categories, series, log_scale)
        return self.inputs.steps(z, covariates, fixed, self.pre, self.pre + self.lookback)

    def forward(self, z: Tensor, covariates: Tensor, static: Tensor, categories: Tensor,
                series: Tensor, phase: Tensor, log_scale: Tensor) -> Tensor:
        """Quantiles (B, H, Q) of the horizon's scaled values."""
        x = self.rnn_inputs(z, covariates, static, categories, series, phase, log_scale)
        h = self.rnn(x)[0][:, -1]
        B, H = len(z), self.horizon
        future = covariates[:, -H:, covariates.shape[-1] - self.n_future :] if self.n_future \
            else covariates.new_zeros(B, H, 0)
        c = self.contexts(torch.cat([h, future.reshape(B, -1)], dim=1)).view(B, H, -1)
        step = torch.linspace(0, 1, H, device=z.device).expand(B, H)[..., None]
        q = self.local(torch.cat([c, future, step], dim=-1))
        q = q + self.highway(z[:, self.pre : self.pre + self.lookback])[..., None]
        return torch.sort(q, dim=-1).values


class DeepAR(nn.Module):
    """Autoregressive forecaster with a distribution head: forward returns the distribution
    parameters (B, L + H - 1, P) of the scaled values at window rows pre+1..W-1, each
    step's input holding the true previous value (teacher forcing)."""

    def __init__(self, cell: str, hidden_size: int, num_layers: int, dropout: float,
                 lookback: int, horizon: int, pre: int, likelihood: str, inputs: _Inputs
                 ) -> None:
        super().__init__()
        self.lookback, self.horizon, self.pre = lookback, horizon, pre
        self.inputs = inputs  # built with lags - 1: its value slot holds z_{t-1}
        self.likelihood = LIKELIHOODS[likelihood]()
        self.rnn = Recurrent(cell, inputs.size, hidden_size, num_layers, dropout=dropout)
        self.head = nn.Linear(hidden_size, self.likelihood.n_params)

    def forward(self, z: Tensor, covariates: Tensor, static: Tensor, categories: Tensor,
                series: Tensor, phase: Tensor, log_scale: Tensor) -> Tensor:
        """Parameters for window rows pre+1..W-1 from the scaled values z (B, W)."""
        fixed = self.inputs.static(static, categories, series, log_scale)
        shifted = torch.cat([z[:, :1] * 0, z], dim=1)  # shifted[t] = z_{t-1}
        x = self.inputs.steps(shifted, covariates, fixed, self.pre + 1, z.shape[1])
        return self.head(self.rnn(x)[0])

    def rnn_inputs(self, z: Tensor, covariates: Tensor, static: Tensor, categories: Tensor,
                   series: Tensor, phase: Tensor, log_scale: Tensor) -> Tensor:
        """What the network reads over the context: (B, L - 1, size), rows pre+1..C-1."""
        fixed = self.inputs.static(static, categories, series, log_scale)
        C = self.pre + self.lookback
        shifted = torch.cat([z[:, :1] * 0, z[:, :C]], dim=1)
        return self.inputs.steps(shifted, covariates, fixed, self.pre + 1, C)

    @torch.no_grad()
    def sample(self, z: Tensor, covariates: Tensor, static: Tensor, categories: Tensor,
               series: Tensor, phase: Tensor, log_scale: Tensor, n: int, scale: Tensor
               ) -> Tensor:
        """``n`` sample paths (B, n, H) of the horizon's scaled values, given each window's
        scale s (B,) (counts are drawn in data units); only the context of z (its first
        pre + L columns) is read."""
        H = self.horizon
        C = self.pre + self.lookback
        B = len(z)
        fixed = self.inputs.static(static, categories, series, log_scale)
        shifted = torch.cat([z[:, :1] * 0, z[:, :C]], dim=1)
        _, state = self.rnn(self.inputs.steps(shifted, covariates, fixed, self.pre + 1, C))

        def rep(t: Tensor) -> Tensor:
            return t.repeat_interleave(n, dim=0)

        def rep_state(s: Tensor) -> Tensor:  # (layers, B, hidden): batch is dim 1
            return s.repeat_interleave(n, dim=1)

        state = type(state)(*(rep_state(s) for s in state)) if isinstance(state, tuple) \
            else rep_state(state)
        path = torch.cat([rep(shifted), z.new_zeros(B * n, H)], dim=1)  # path[t] = z_{t-1}
        covariates, fixed = rep(covariates), rep(fixed)
        scale = rep(scale)[:, None]
        for h in range(H):
            t = C + h
            out, state = self.rnn(self.inputs.steps(path, covariates, fixed, t, t + 1), state)
            path[:, t + 1] = self.likelihood.sample(self.head(out), scale)[:, 0]
        return path[:, C + 1 :].reshape(B, n, H)


class ESRNN(nn.Module):
    """Exponential smoothing with learned per-series coefficients + a global recurrent
    network; forward returns quantiles (B, H, Q) of the horizon's scaled values."""

    def __init__(self, cell: str, hidden_size: int, num_layers: int, dropout: float,
                 lookback: int, horizon: int, pre: int, n_quantiles: int, inputs: _Inputs,
                 n_series: int, season: int) -> None:
        super().__init__()
        self.lookback, self.horizon, self.pre, self.season = lookback, horizon, pre, season
        self.inputs = inputs
        # per series: level and seasonality smoothing (logits) and initial seasonal indices
        # (logs), the ES part of Smyl's hybrid
        self.smoothing = nn.Embedding(n_series, 2)
        nn.init.constant_(self.smoothing.weight, -1.0)
        self.initial_season = nn.Embedding(n_series, season)
        nn.init.zeros_(self.initial_season.weight)
        self.rnn = Recurrent(cell, inputs.size, hidden_size, num_layers, dropout=dropout)
        self.head = nn.Linear(hidden_size, horizon * n_quantiles)
        self.n_quantiles = n_quantiles

    def smooth(self, z: Tensor, series: Tensor, phase: Tensor) -> tuple[Tensor, Tensor]:
        """Levels (B, C) and seasonal indices (B, C + H) over the window's context of
        positive scaled values z (B, C): l_t = a z_t / s_t + (1 - a) l_{t-1},
        s_{t+m} = g z_t / l_t + (1 - g) s_t."""
        B, C, m = z.shape[0], z.shape[1], self.season
        alpha, gamma = torch.sigmoid(self.smoothing(series)).unbind(-1)
        index = (phase[:, None] + torch.arange(m, device=z.device)) % m
        seasons = list(torch.exp(torch.gather(self.initial_season(series), 1, index)).unbind(1))
        if m == 1:
            seasons = [z.new_ones(B)]
        level = z[:, 0] / seasons[0]
        levels = []
        for t in range(C):
            s_t = seasons[t] if m > 1 else seasons[0]
            level = alpha * z[:, t] / s_t + (1 - alpha) * level
            levels.append(level)
            if m > 1:
                seasons.append(gamma * z[:, t] / level + (1 - gamma) * s_t)
        if m == 1:
            return torch.stack(levels, 1), z.new_ones(B, C + self.horizon)
        while len(seasons) < C + self.horizon:
            seasons.append(seasons[len(seasons) - m])
        return torch.stack(levels, 1), torch.stack(seasons[: C + self.horizon], 1)

    def _smoothed(self, z: Tensor, covariates: Tensor, static: Tensor, categories: Tensor,
                  series: Tensor, phase: Tensor, log_scale: Tensor
                  ) -> tuple[Tensor, Tensor, Tensor]:
        """(levels, seasonal indices, the network's inputs) of a batch."""
        C = self.pre + self.lookback
        positive = torch.clamp(z[:, :C], min=1e-3)
        levels, seasons = self.smooth(positive, series, phase)
        normal = torch.log(positive / (levels[:, -1:] * seasons[:, :C]))
        fixed = self.inputs.static(static, categories, series, log_scale)
        return levels, seasons, self.inputs.steps(normal, covariates, fixed, self.pre, C)

    def rnn_inputs(self, *batch: Tensor) -> Tensor:
        """What the network reads: the deseasonalised, level-normalised log values and the
        other inputs, (B, L, size)."""
        return self._smoothed(*batch)[2]

    def forward(self, z: Tensor, covariates: Tensor, static: Tensor, categories: Tensor,
                series: Tensor, phase: Tensor, log_scale: Tensor) -> Tensor:
        """Quantiles (B, H, Q) of the horizon's scaled values."""
        C, H = self.pre + self.lookback, self.horizon
        levels, seasons, x = self._smoothed(z, covariates, static, categories, series, phase,
                                            log_scale)
        out = self.rnn(x)[0][:, -1]
        q = self.head(out).view(len(z), H, self.n_quantiles)
        q = torch.sort(q, dim=-1).values
        return levels[:, -1:, None] * seasons[:, C:, None] * torch.exp(q)
