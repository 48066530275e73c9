import os
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture
def data_dir() -> Path:
    """The shared real datasets; tests needing them skip with the reason when unset."""
    root = os.environ.get("RNNKIT_DATA")
    if not root:
        pytest.skip("RNNKIT_DATA is not set: it must point at the shared datasets folder")
    return Path(root)
