"""The glass box's step, compiled: `torch.compile` of ``cell.step``, cached per shape.

The trace path of `Recurrent` calls ``cell.step(xw_t, state)`` once per timestep. `step_fn`
returns a function with the same signature and results (outputs, state and gates, all still
on the autograd graph) that runs the step through `torch.compile` (``dynamic=False``: one
graph per shape). Only the step is compiled, not the Python loop over time: the loop's length
changes from batch to batch, the step's shapes do not. Each compiled entry is keyed by (cell
type, input and state shapes, dtype, device, whether gradients are recorded, training mode);
the seconds its first call took (compiling included) are kept in `COMPILE_SECONDS`. Where the
compiler fails (no C++ compiler, an unsupported platform or cell), the step runs eagerly and
one line says so, once.
"""

from __future__ import annotations

import time
import types
import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from rnnkit.cells.base import Cell

Step = Callable[[Tensor, Any], tuple[Tensor, Any, Any]]

#: Seconds the first call of each compiled entry took (compiling included), by its key.
COMPILE_SECONDS: dict[tuple, float] = {}
_COMPILED: dict[tuple, Callable[[Cell, Tensor, Any], tuple[Tensor, Any, Any]]] = {}
_unavailable: list[str] = []  # why the compiler failed, once it has


def _step(cell: Cell, xw: Tensor, state: Any) -> tuple[Tensor, Any, Any]:
    return cell.step(xw, state)


def _fresh_step() -> Callable[[Cell, Tensor, Any], tuple[Tensor, Any, Any]]:
    """`_step` with its own code object: TorchDynamo caches (and caps, at its recompile limit)
    the graphs of one code object, so each key gets its own rather than sharing that cap."""
    code = _step.__code__.replace(co_name=f"_step_{len(_COMPILED)}")
    return types.FunctionType(code, _step.__globals__, code.co_name)


def step_key(cell: Cell, xw: Tensor, state: Any) -> tuple:
    """What a compiled step is specialised on: (cell type, shapes, dtype, device, grad, mode)."""
    grad = torch.is_grad_enabled() and (
        xw.requires_grad or any(p.requires_grad for p in cell.parameters())
    )
    return (type(cell), tuple(xw.shape), tuple(tuple(s.shape) for s in state), xw.dtype,
            xw.device, grad, cell.training)


def compiler_unavailable() -> str | None:
    """Why `torch.compile` could not be used in this process, or None if it has not failed."""
    return _unavailable[0] if _unavailable else None


def step_fn(cell: Cell) -> Step:
    """``cell.step`` run through `torch.compile`, or eagerly where the compiler is unavailable.

    Args:
        cell: any `Cell`; its ``step`` must be traceable by TorchDynamo (graph breaks are
            allowed: the broken parts run eagerly).

    Returns:
        a function ``(xw, state) -> (h, state, gates)`` equal to ``cell.step``.

    Example:
        >>> from rnnkit.cells import PeepholeLSTMCell
        >>> cell = PeepholeLSTMCell(3, 4)
        >>> step = step_fn(cell)  # compiles on its first call for each shape
    """
    if _unavailable:
        return cell.step

    def step(xw: Tensor, state: Any) -> tuple[Tensor, Any, Any]:
        if _unavailable:
            return cell.step(xw, state)
        key = step_key(cell, xw, state)
        compiled = _COMPILED.get(key)
        if compiled is not None:
            return compiled(cell, xw, state)
        start = time.perf_counter()
        try:
            compiled = torch.compile(_fresh_step(), dynamic=False)
            result = compiled(cell, xw, state)
        except Exception as error:  # any compiler failure: run eagerly from now on
            _unavailable.append(f"{type(error).__name__}: {str(error).splitlines()[0][:200]}")
            warnings.warn(f"torch.compile unavailable ({_unavailable[0]}); the recurrent "
                          "loop runs eagerly", stacklevel=3)
            return cell.step(xw, state)
        COMPILE_SECONDS[key] = time.perf_counter() - start
        _COMPILED[key] = compiled
        return result

    return step
