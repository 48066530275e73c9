"""Where computation runs: the device (auto, cpu, cuda), CPU thread settings, and the
precision that training can use there."""

from __future__ import annotations

from pathlib import Path

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


def cpu_has_bf16(cpuinfo: str | None = None) -> bool:
    """Whether this CPU computes in bfloat16 natively: the x86 flags ``avx512_bf16`` or
    ``amx_bf16``, or ``bf16`` among an Arm CPU's features, in ``cpuinfo`` (the text of
    ``/proc/cpuinfo``, read when None; False where there is none to read).

    Elsewhere torch emulates bfloat16 in float32 instructions, which is slower than float32.

    Example:
        >>> cpu_has_bf16("flags\\t\\t: fpu avx2 avx512f avx512_bf16")
        True
        >>> cpu_has_bf16("flags\\t\\t: fpu avx2 avx512f")
        False
    """
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return False
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            found = set(value.split())
            return bool(found & {"avx512_bf16", "amx_bf16", "bf16"})
    return False


def bf16_supported(device: torch.device) -> bool:
    """Whether ``device`` runs bfloat16 natively: `cpu_has_bf16` on a CPU,
    ``torch.cuda.is_bf16_supported()`` on a GPU (Ampere and later)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and cpu_has_bf16()


def training_precision(precision: str, device: torch.device) -> tuple[str, str | None]:
    """The Lightning precision to train with on ``device`` when ``precision`` is asked for,
    and a note when it differs: ``bf16-mixed`` falls back to ``32`` where the device has no
    native bfloat16 (see `bf16_supported`); ``16-mixed`` (float16 with loss scaling) needs a
    CUDA GPU and is an `InputError` elsewhere.

    Example:
        >>> training_precision("32", torch.device("cpu"))
        ('32', None)
    """
    if precision == "16-mixed" and device.type != "cuda":
        raise InputError(f"--precision 16-mixed needs a CUDA GPU; on {device.type} use "
                         "bf16-mixed (where the CPU supports bfloat16) or 32")
    if precision == "bf16-mixed" and not bf16_supported(device):
        where = "this CPU" if device.type == "cpu" else f"the GPU {device}"
        return "32", (f"note: {where} has no native bfloat16 (AVX-512 BF16, AMX or an Ampere "
                      "GPU); training in float32 instead of bf16-mixed")
    return precision, None
