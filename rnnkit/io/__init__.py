"""Files on disk: atomic writes, JSON, safetensors weights; nothing is ever unpickled."""

from rnnkit.io.files import read_json, save_figure, write_bytes, write_json

__all__ = ["read_json", "save_figure", "write_bytes", "write_json"]
