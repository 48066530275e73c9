"""The echo state network: a `Reservoir` read out by a `Ridge`, fitted without backpropagation."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from rnnkit.errors import InputError
from rnnkit.reservoir.readout import Ridge
from rnnkit.reservoir.reservoir import Reservoir

READOUTS = ("linear", "quadratic")


@dataclass
class ESNConfig:
    """Everything that builds an `ESN`: a run stores ``asdict(config)`` and rebuilds it with
    ``ESNConfig(**d)``. Settings tuned for Mackey-Glass are in `rnnkit.experiments.mackey_glass`."""

    input_size: int = 1  # D_in: features per step
    output_size: int = 1  # D_out: targets per step (= D_in to run in closed loop)
    units: int = 400  # N: reservoir size
    spectral_radius: float = 0.9  # max |eigenvalue| of W; < 1 is the usual regime
    leak_rate: float = 1.0  # alpha in (0, 1]; 1 = no leak, smaller = slower, longer memory
    input_scaling: float = 1.0  # W_in uniform in [-input_scaling, input_scaling]
    bias_scaling: float = 0.1  # b uniform in [-bias_scaling, bias_scaling]
    connectivity: float = 0.1  # fraction of nonzero recurrent weights (Jaeger & Haas: 0.01)
    ridge: float = 1e-6  # lambda of the ridge readout (0: least squares, pseudo-inverse)
    state_noise: float = 0.0  # nu in [-state_noise, state_noise] while fitting only
    readout: str = "linear"  # features: "linear" [x; u], "quadratic" [x; x*x; u]
    seed: int = 0  # draws the reservoir and the training noise


def _batch(values: Tensor, name: str, size: int, size_name: str) -> tuple[Tensor, bool]:
    """(T, D) or (B, T, D) -> ((B, T, D), whether a batch dimension was added); checks D, NaN."""
    values = torch.as_tensor(values)
    if values.dim() not in (2, 3):
        raise InputError(
            f"{name} has shape {tuple(values.shape)}; expected (T, {size_name}) or "
            f"(B, T, {size_name}) (for one feature use x.unsqueeze(-1))"
        )
    if values.shape[-1] != size:
        raise InputError(
            f"{name} has {values.shape[-1]} features per step but the ESN was built with "
            f"{size_name}={size}; build it with ESNConfig({size_name}={values.shape[-1]})"
        )
    if values.shape[-2] == 0:
        raise InputError(f"{name} has no time steps (shape {tuple(values.shape)})")
    finite = torch.isfinite(values)
    if not finite.all():
        where = tuple(int(i) for i in (~finite).nonzero()[0])
        raise InputError(
            f"{name} contains NaN or inf (first at index {where}); fill or drop the missing "
            "values before fitting or predicting"
        )
    return (values, False) if values.dim() == 3 else (values.unsqueeze(0), True)


class ESN(nn.Module):
    r"""Echo state network: a fixed random `Reservoir` and a linear `Ridge` readout
    (Jaeger 2001; Jaeger & Haas 2004; Lukoševičius 2012).

    .. math::
        x_t = (1 - \alpha) x_{t-1} + \alpha \tanh(W_{in} u_t + b + W x_{t-1} + \nu_t), \qquad
        y_t = W_{out} z_t + c, \quad z_t = [x_t; u_t] \text{ or } [x_t; x_t \odot x_t; u_t]

    Only :math:`W_{out}, c` are trained, in closed form: no backpropagation through time,
    hence no vanishing gradient. ``readout="quadratic"`` adds the squared states to the
    features (as Pathak et al. 2018), a cheap nonlinearity that cut the Mackey-Glass NRMSE84
    ~8x here (1.6e-4 -> 1.9e-5, docs/esn.md).

    Forecasting a series :math:`s` is ``fit(s[:-1], s[1:], washout)``: the input is the
    previous value, i.e. Jaeger's output feedback :math:`W_{back}`, teacher-forced during
    training; `generate` then feeds each output back as the next input (closed loop).
    Jaeger's other ingredients are options of `ESNConfig`: a constant bias input
    (``bias_scaling``), state noise while fitting (``state_noise``: with ``ridge=0`` it is
    the regulariser that keeps the closed loop stable) and sparse connectivity.

    Shapes: inputs (T, D_in) or (B, T, D_in); targets and outputs (T, D_out) or (B, T, D_out).
    Computation is float64 on the module's device (``esn.to("cuda")``); inputs are moved there.
    All weights are buffers: ``rnnkit.io.weights.save_weights(path, esn)`` saves them (with
    ``asdict(esn.config)`` beside), ``ESN(ESNConfig(**d)).load_state_dict(load_weights(path))``
    restores them.

    Example:
        >>> s = torch.sin(torch.arange(400, dtype=torch.float64) / 4).unsqueeze(-1)  # (400, 1)
        >>> esn = ESN(ESNConfig(units=100, connectivity=0.1)).fit(s[:-1], s[1:], washout=50)
        >>> future = esn.generate(20, warmup=s)  # (20, 1): s[400], s[401], ...
        >>> bool((future[:, 0] - torch.sin(torch.arange(400, 420) / 4)).abs().max() < 1e-3)
        True
    """

    def __init__(self, config: ESNConfig | None = None) -> None:
        super().__init__()
        config = ESNConfig() if config is None else config
        if not (math.isfinite(config.state_noise) and config.state_noise >= 0):
            raise InputError(
                f"state_noise={config.state_noise}: must be >= 0 (e.g. 1e-10-1e-5, 0 for none)"
            )
        if config.readout not in READOUTS:
            raise InputError(
                f"readout={config.readout!r}: choose 'linear' ([x; u], Jaeger 2001) or "
                "'quadratic' ([x; x*x; u], Pathak et al. 2018)"
            )
        if config.output_size < 1:
            raise InputError(f"output_size={config.output_size}: must be >= 1 (targets per step)")
        self.config = config
        self.reservoir = Reservoir(
            config.input_size,
            config.units,
            spectral_radius=config.spectral_radius,
            leak_rate=config.leak_rate,
            input_scaling=config.input_scaling,
            bias_scaling=config.bias_scaling,
            connectivity=config.connectivity,
            seed=config.seed,
        )
        state_features = config.units * (2 if config.readout == "quadratic" else 1)
        self.readout = Ridge(state_features + config.input_size, config.output_size, config.ridge)

    @property
    def device(self) -> torch.device:
        """Where the weights are and the computation runs."""
        return self.readout.weight.device

    def _features(self, states: Tensor, inputs: Tensor) -> Tensor:
        """The readout's input z_t: [x_t; u_t] or [x_t; x_t * x_t; u_t], (..., F)."""
        inputs = inputs.to(states)
        if self.config.readout == "quadratic":
            return torch.cat([states, states * states, inputs], dim=-1)  # (..., 2N + D_in)
        return torch.cat([states, inputs], dim=-1)  # (..., N + D_in)

    def _check_fitted(self) -> None:
        if not bool(self.readout.fitted):
            raise InputError("this ESN is not fitted yet; call fit(inputs, targets, washout)")

    @torch.no_grad()
    def fit(self, inputs: Tensor, targets: Tensor, washout: int) -> ESN:
        """Teacher-forced fit: run the reservoir over ``inputs`` from a zero state (with state
        noise), drop the first ``washout`` steps of every sequence, solve the readout.

        inputs (T, D_in) or (B, T, D_in); targets (T, D_out) or (B, T, D_out), same B and T.
        Returns self.
        """
        u, _ = _batch(inputs, "inputs", self.config.input_size, "input_size")
        d, _ = _batch(targets, "targets", self.config.output_size, "output_size")
        if u.shape[:2] != d.shape[:2]:
            raise InputError(
                f"inputs has shape {tuple(inputs.shape)} and targets {tuple(targets.shape)}: "
                "they need the same batch and time dimensions (targets[t] answers inputs[..t])"
            )
        T = u.shape[1]
        if not 0 <= washout < T:
            raise InputError(
                f"washout={washout}: must be >= 0 and < the training length {T}; "
                "use fewer washout steps or a longer series"
            )
        generator = torch.Generator(device=self.device).manual_seed(self.config.seed + 1)
        states, _ = self.reservoir(u, noise=self.config.state_noise, generator=generator)
        features = self._features(states[:, washout:], u[:, washout:])  # (B, T - washout, F)
        self.readout.fit(features, d[:, washout:])
        return self

    @torch.no_grad()
    def predict(self, inputs: Tensor) -> Tensor:
        """One-step outputs, teacher forced: y_t from the true inputs u_1..u_t, from a zero state.

        inputs (T, D_in) or (B, T, D_in) -> outputs (T, D_out) or (B, T, D_out). The first
        outputs carry the start-up transient, as the washout in `fit` did.
        """
        self._check_fitted()
        u, added = _batch(inputs, "inputs", self.config.input_size, "input_size")
        states, _ = self.reservoir(u)
        outputs = self.readout(self._features(states, u))
        return outputs[0] if added else outputs

    @torch.no_grad()
    def generate(self, n_steps: int, warmup: Tensor) -> Tensor:
        """Closed loop: teacher-force ``warmup``, then feed each output back as the next input.

        warmup (T_w, D) or (B, T_w, D) with D = input_size = output_size; returns the next
        ``n_steps`` outputs (n_steps, D) or (B, n_steps, D): for a series fitted as
        ``fit(s[:-1], s[1:])``, warmup s[0:T_w] gives predictions of s[T_w], s[T_w + 1], ...
        """
        self._check_fitted()
        if self.config.input_size != self.config.output_size:
            raise InputError(
                f"generate feeds outputs back as inputs, so input_size={self.config.input_size} "
                f"must equal output_size={self.config.output_size}; use predict instead"
            )
        if n_steps < 1:
            raise InputError(f"n_steps={n_steps}: must be >= 1 (steps to generate)")
        u, added = _batch(warmup, "warmup", self.config.input_size, "input_size")
        states, x = self.reservoir(u)
        y = self.readout(self._features(states[:, -1], u[:, -1]))  # (B, D)
        outputs = [y]
        step = self.reservoir.stepper()
        for _ in range(n_steps - 1):
            x = step(self.reservoir.drive(y), x)
            y = self.readout(self._features(x, y))
            outputs.append(y)
        generated = torch.stack(outputs, dim=1)  # (B, n_steps, D)
        return generated[0] if added else generated
