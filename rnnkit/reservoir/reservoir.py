"""The reservoir: a large fixed random recurrent network whose states echo its input history."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor, nn

from rnnkit.errors import InputError
from rnnkit.reservoir.observables import spectral_radius as _spectral_radius

#: On the CPU a CSR matrix-vector product beats the dense one from this many units at <= 10%
#: connectivity (1 thread, float64, per step: 400 units 1%: 20 vs 38 us, 1000: 29 vs 155 us;
#: 100 units: 14 vs 8 us). On a GPU every step is launch-bound, so dense is kept there.
SPARSE_MIN_UNITS = 300
SPARSE_MAX_CONNECTIVITY = 0.1


def _run_numpy(
    drive: np.ndarray, x: np.ndarray, weight_t: np.ndarray, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    """`Reservoir.forward`'s loop for a dense W on the CPU, on zero-copy NumPy views of the
    same tensors: a reservoir step is a few calls on small arrays, so its cost is per-call
    overhead, and NumPy's is about half of torch's (100 units: 10 vs 20 us per step).

    drive (T, B, N) holds W_in u_t + b (+ noise); x (B, N); weight_t = W^T.
    Returns (states (T, B, N), last state (B, N)).
    """
    states = np.empty_like(drive)
    for t, d in enumerate(drive):
        h = np.tanh(d + x @ weight_t)
        x = h if alpha == 1.0 else x + alpha * (h - x)
        states[t] = x
    return states, x


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise InputError(message)


class Reservoir(nn.Module):
    r"""A fixed random leaky-tanh recurrent network driven by its input (Jaeger 2001).

    .. math::
        \tilde{x}_t = \tanh(W_{in} u_t + b + W x_{t-1} + \nu_t), \qquad
        x_t = (1 - \alpha)\, x_{t-1} + \alpha\, \tilde{x}_t

    with :math:`x_0 = 0` unless a state is given. Nothing here is trained: the weights are drawn
    once from ``seed`` (on the CPU, so a seed gives the same reservoir on every device).

    - :math:`W` (N, N): ``round(connectivity * N)`` (at least 1) nonzero weights per row,
      uniform in [-1, 1], then rescaled so that its largest eigenvalue magnitude is exactly
      ``spectral_radius`` (sparse ~1% connectivity: Jaeger & Haas 2004).
    - :math:`W_{in}` (N, D): uniform in [-input_scaling, input_scaling].
    - :math:`b` (N,): uniform in [-bias_scaling, bias_scaling] (Jaeger's constant bias input).
    - :math:`\alpha` = ``leak_rate`` in (0, 1]; 1 is the plain tanh reservoir.
    - :math:`\nu_t`: uniform in [-noise, noise], added only when asked (during training it
      keeps a closed loop stable: Jaeger 2001; Lukoševičius 2012, sec. 4.2).

    Shapes: u (B, T, D) -> states (B, T, N), last state (B, N). Buffers (float64):
    ``weight_hh`` (N, N), ``weight_ih`` (N, D), ``bias`` (N,). ``sparse`` picks the product
    with :math:`W`: None chooses CSR or dense by size and device (see ``SPARSE_MIN_UNITS``);
    a dense reservoir on the CPU runs its loop in NumPy on the same memory (see `_run_numpy`).

    Example:
        >>> reservoir = Reservoir(1, 50, spectral_radius=0.9, seed=0)
        >>> states, last = reservoir(torch.randn(2, 30, 1, dtype=torch.float64))
        >>> tuple(states.shape), tuple(last.shape)
        ((2, 30, 50), (2, 50))
    """

    def __init__(
        self,
        input_size: int,
        units: int,
        spectral_radius: float = 0.9,
        leak_rate: float = 1.0,
        input_scaling: float = 1.0,
        bias_scaling: float = 0.0,
        connectivity: float = 0.1,
        seed: int = 0,
        sparse: bool | None = None,
    ) -> None:
        super().__init__()
        _check(input_size >= 1, f"input_size={input_size}: must be >= 1 (features per step)")
        _check(units >= 1, f"units={units}: must be >= 1 (e.g. 100-1000 reservoir units)")
        _check(
            math.isfinite(spectral_radius) and spectral_radius > 0,
            f"spectral_radius={spectral_radius}: must be > 0 (e.g. 0.8-1.25)",
        )
        _check(
            0 < leak_rate <= 1, f"leak_rate={leak_rate}: must be in (0, 1] (1 = no leak, e.g. 0.3)"
        )
        _check(
            math.isfinite(input_scaling) and input_scaling >= 0,
            f"input_scaling={input_scaling}: must be >= 0 (e.g. 0.5-1)",
        )
        _check(
            math.isfinite(bias_scaling) and bias_scaling >= 0,
            f"bias_scaling={bias_scaling}: must be >= 0 (e.g. 0-0.5)",
        )
        _check(
            0 < connectivity <= 1,
            f"connectivity={connectivity}: must be in (0, 1] (fraction of nonzero recurrent "
            "weights, e.g. 0.01-0.1)",
        )
        self.input_size = input_size
        self.units = units
        self.spectral_radius = spectral_radius
        self.leak_rate = leak_rate
        self.connectivity = connectivity
        self.sparse = sparse

        g = torch.Generator().manual_seed(seed)
        per_row = max(1, round(connectivity * units))
        columns = torch.rand(units, units, generator=g).argsort(dim=1)[:, :per_row]
        values = torch.rand(units, per_row, generator=g, dtype=torch.float64) * 2 - 1
        weight = torch.zeros(units, units, dtype=torch.float64).scatter_(1, columns, values)
        # every unit has an incoming weight, so the graph of W has a cycle and (weights being
        # continuous random draws) W has a nonzero eigenvalue: rho > 0
        rho = _spectral_radius(weight)
        self.register_buffer("weight_hh", weight * (spectral_radius / rho))
        weight_ih = torch.rand(units, input_size, generator=g, dtype=torch.float64) * 2 - 1
        self.register_buffer("weight_ih", weight_ih * input_scaling)
        bias = torch.rand(units, generator=g, dtype=torch.float64) * 2 - 1
        self.register_buffer("bias", bias * bias_scaling)

    def uses_sparse(self) -> bool:
        """Whether the product with W runs as CSR on the current device (else dense)."""
        if self.sparse is not None:
            return self.sparse
        return (
            self.weight_hh.device.type == "cpu"
            and self.units >= SPARSE_MIN_UNITS
            and self.connectivity <= SPARSE_MAX_CONNECTIVITY
        )

    def drive(self, inputs: Tensor) -> Tensor:
        """The input part of the pre-activation, :math:`W_{in} u + b`: (..., D) -> (..., N).

        ``inputs`` are moved to the reservoir's device and dtype (float64 unless converted).
        """
        flat = inputs.to(self.weight_ih).reshape(-1, self.input_size)
        return torch.addmm(self.bias, flat, self.weight_ih.T).view(*inputs.shape[:-1], self.units)

    def stepper(self) -> Callable[..., Tensor]:
        r"""The update :math:`x_{t-1} \to x_t` as a function ``step(drive_t, x, out=None)``.

        ``drive_t`` (B, N) is :math:`W_{in} u_t + b (+ \nu_t)`, ``x`` (B, N) the last state;
        ``out`` optionally receives the new state. The function holds :math:`W` as CSR or
        dense (converted once), so build it once per sequence, not once per step.
        """
        alpha = self.leak_rate
        if self.uses_sparse():
            with warnings.catch_warnings():  # torch flags CSR as beta; the product is tested
                warnings.filterwarnings("ignore", "Sparse CSR tensor support", UserWarning)
                w_csr = self.weight_hh.to_sparse_csr()

            def recurrent(drive: Tensor, x: Tensor) -> Tensor:
                return drive + (w_csr @ x.T).T  # (B, N)

        else:
            w_t = self.weight_hh.T

            def recurrent(drive: Tensor, x: Tensor) -> Tensor:
                return torch.addmm(drive, x, w_t)  # (B, N)

        def step(drive: Tensor, x: Tensor, out: Tensor | None = None) -> Tensor:
            if alpha == 1.0:
                return torch.tanh(recurrent(drive, x), out=out)
            return torch.lerp(x, torch.tanh(recurrent(drive, x)), alpha, out=out)

        return step

    @torch.no_grad()
    def forward(
        self,
        inputs: Tensor,
        state: Tensor | None = None,
        noise: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Run over a batch of sequences: inputs (B, T, D), state (B, N) or None (zeros).

        ``noise`` > 0 adds :math:`\\nu_t` uniform in [-noise, noise] drawn from ``generator``.
        Returns (states (B, T, N), last state (B, N)). Nothing here is trained, so no gradient
        is recorded.
        """
        B, T, _ = inputs.shape
        drive = self.drive(inputs.transpose(0, 1))  # (T, B, N): each step's slice contiguous
        if noise > 0:
            nu = torch.rand(
                drive.shape, generator=generator, dtype=drive.dtype, device=drive.device
            )
            drive = drive + (2 * nu - 1) * noise  # uniform in [-noise, noise]
        x = drive.new_zeros(B, self.units) if state is None else state.to(drive)
        if drive.device.type == "cpu" and not self.uses_sparse():
            w_t = self.weight_hh.T.numpy()
            states, x = _run_numpy(drive.numpy(), x.numpy(), w_t, self.leak_rate)
            return torch.from_numpy(states).transpose(0, 1), torch.from_numpy(x)
        states = torch.empty_like(drive)
        step = self.stepper()
        for t in range(T):
            x = step(drive[t], x, out=states[t])
        return states.transpose(0, 1), x

    def extra_repr(self) -> str:
        """Constructor arguments, for ``print(module)``."""
        return (
            f"{self.input_size}, {self.units}, spectral_radius={self.spectral_radius}, "
            f"leak_rate={self.leak_rate}, connectivity={self.connectivity}"
        )
