"""Batches straight from tensors: one fancy index per batch, no per-item Python collation."""

from __future__ import annotations

import torch
from torch import Tensor
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler


class TensorBatches(Dataset):
    """Indexable by a list of indices, returning whole batches ``(x[idx], y[idx])``."""

    def __init__(self, *tensors: Tensor) -> None:
        if len({len(t) for t in tensors}) != 1:
            raise ValueError(f"tensors differ in length: {[len(t) for t in tensors]}")
        self.tensors = tensors

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, index: list[int]) -> tuple[Tensor, ...]:
        index = torch.as_tensor(index)
        return tuple(t[index] for t in self.tensors)


def tensor_loader(
    *tensors: Tensor, batch_size: int, shuffle: bool, seed: int = 0
) -> DataLoader:
    """A DataLoader over tensors yielding batches; shuffled by a generator seeded with ``seed``."""
    data = TensorBatches(*tensors)
    generator = torch.Generator().manual_seed(seed)
    order = RandomSampler(data, generator=generator) if shuffle else SequentialSampler(data)
    sampler = BatchSampler(order, batch_size=batch_size, drop_last=False)
    return DataLoader(data, sampler=sampler, batch_size=None)
