"""Matrix products of the hand-written recurrent loops, on oneDNN where it is the faster kernel.

Torch computes a float32 ``a @ b`` on a CPU with its BLAS (MKL in the x86 wheels); torch's own
fused LSTM/GRU kernels use oneDNN instead. The two are not equally fast everywhere: on an AMD
EPYC (Zen 4) core, MKL ran a (64 x 256) @ (256 x 1024) product at about 100 GFLOP/s and oneDNN
at about 200, and a (1024 x 6400) @ (6400 x 256) one at 50-100 against 110-230
(``benchmarks/recurrent.py`` measures what this buys the glass box). Each oneDNN call costs
about 10 us more, so small products (below `MIN_MACS` multiply-adds; the crossover measured
there was about 1.5 M) stay on torch's kernel. Each function here chooses per call;
float64, CUDA tensors and builds without oneDNN always use torch. Both give the float32 result
of the same product (the order of the additions may differ, as between any two BLAS).
"""

from __future__ import annotations

import torch
from torch import Tensor

#: Products with fewer multiply-adds (m * k * n) than this run on torch's kernel.
MIN_MACS = 2**21

_ONEDNN = getattr(getattr(torch.ops, "mkldnn", None), "_linear_pointwise", None)


def on_onednn(a: Tensor, b: Tensor) -> bool:
    """Whether `product` runs ``a @ b`` (a (m, k), b (k, n)) on oneDNN: float32 CPU tensors
    of at least `MIN_MACS` multiply-adds, in a build with oneDNN."""
    return (_ONEDNN is not None and a.dtype == torch.float32 and b.dtype == torch.float32
            and a.device.type == "cpu" and b.device.type == "cpu"
            and torch.backends.mkldnn.is_available()
            and a.shape[0] * a.shape[1] * b.shape[1] >= MIN_MACS)


def product(a: Tensor, b: Tensor, bias: Tensor | None = None) -> Tensor:
    """``a @ b (+ bias)`` of two matrices, a (m, k) and b (k, n), bias (n,), on the faster
    kernel (see the module docstring); any strides. No autograd: for code that writes its
    gradients by hand.

    Example:
        >>> a, b = torch.randn(3, 4), torch.randn(4, 5)
        >>> torch.allclose(product(a, b), a @ b)
        True
    """
    if on_onednn(a, b):
        return _ONEDNN(a, b.t(), bias, "none", [], "")
    return a @ b if bias is None else torch.addmm(bias, a, b)


def summed_outer(a: Tensor, b: Tensor) -> Tensor:
    """``a.T @ b`` (a (r, m), b (r, n): the sum over the r rows of their outer products, as in
    a weight's gradient) on the faster kernel. oneDNN reads its first operand row by row, so
    the smaller of the two is the one transposed into that layout.

    Example:
        >>> a, b = torch.randn(6, 3), torch.randn(6, 2)
        >>> torch.allclose(summed_outer(a, b), a.t() @ b)
        True
    """
    if a.shape[1] <= b.shape[1]:
        return product(a.t(), b)
    return product(b.t(), a).t()


def add_product_(out: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """``out += a @ b`` in place (out (m, n)), on the faster kernel; returns ``out``."""
    if on_onednn(a, b):
        return out.add_(_ONEDNN(a, b.t(), None, "none", [], ""))
    return out.addmm_(a, b)
