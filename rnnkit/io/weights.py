"""Model weights as safetensors: plain tensors in, plain tensors out, nothing executed on load."""

from __future__ import annotations

from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors
from torch import Tensor, nn

from rnnkit.errors import InputError
from rnnkit.io.files import write_bytes


def save_weights(path: Path, model: nn.Module) -> Path:
    """Write ``model.state_dict()`` to a safetensors file, atomically."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    return write_bytes(path, save_tensors(tensors))


def load_weights(path: Path) -> dict[str, Tensor]:
    """Read a safetensors file; anything else (a pickle put in its place) is refused."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path} is missing; the run folder has no weights")
    try:
        return load_tensors(path.read_bytes())
    except (SafetensorError, ValueError, OSError) as err:
        raise InputError(f"{path} is not a safetensors file ({err}); refusing to load it") from err


def load_checked(net: nn.Module, weights: dict[str, Tensor], where: str) -> nn.Module:
    """Load ``weights`` into ``net`` only if they fit exactly (the same names and shapes;
    anything else, e.g. a tampered file or another config's weights, is an `InputError`
    naming the first differences); returns ``net`` in eval mode."""
    expected = net.state_dict()
    problems = sorted(set(expected) ^ set(weights)) or [
        f"{k}: {tuple(weights[k].shape)} != {tuple(v.shape)}"
        for k, v in expected.items() if weights[k].shape != v.shape
    ]
    if problems:
        raise InputError(f"{where}: weights do not fit the config ({problems[:3]})")
    net.load_state_dict(weights)
    return net.eval()
