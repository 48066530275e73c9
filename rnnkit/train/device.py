"""Where computation runs: the device (auto, cpu, cuda) and CPU thread settings."""

from __future__ import annotations

import torch

from rnnkit.errors import InputError

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` -> cuda when available, else cpu; ``cuda`` without a GPU is an `InputError`."""
    if name not in DEVICES and not name.startswith("cuda:"):
        raise InputError(f"--device {name!r} is not known; use one of {', '.join(DEVICES)}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"--device {name} was asked for but no CUDA GPU is visible; use cpu")
    return torch.device(name)


def set_cpu_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads (default 1) and flush denormals; returns the count.

    Small recurrent models gain nothing from more threads, and on a shared machine extra
    threads contend with other processes for the same cores.
    """
    threads = 1 if threads is None else threads
    if threads < 1:
        raise InputError(f"--threads {threads}; expected at least 1")
    torch.set_num_threads(threads)
    torch.set_flush_denormal(True)
    return threads
