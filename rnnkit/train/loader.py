"""Batches straight from tensors: one fancy index per batch, no per-item Python collation."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch import Tensor
from torch.utils.data import BatchSampler, DataLoader, Dataset, Sampler, SequentialSampler


class TensorBatches(Dataset):
    """Indexable by a list of indices, returning whole batches ``(x[idx], y[idx])``, passed
    through ``transform(x[idx], y[idx])`` if given (e.g. to scale windows batch by batch)."""

    def __init__(self, *tensors: Tensor,
                 transform: Callable[..., tuple[Tensor, ...]] | None = None) -> None:
        if len({len(t) for t in tensors}) != 1:
            raise ValueError(f"tensors differ in length: {[len(t) for t in tensors]}")
        self.tensors = tensors
        self.transform = transform

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, index: list[int]) -> tuple[Tensor, ...]:
        index = torch.as_tensor(index)
        batch = tuple(t[index] for t in self.tensors)
        return batch if self.transform is None else self.transform(*batch)


class RandomOrder(Sampler[int]):
    """``range(n)`` in a random order: the order, and the draws from ``generator``, of torch's
    ``RandomSampler(range(n), generator=generator)`` (two ``randperm`` per pass, the second
    unused), without holding the order as n Python ints (5 million of them take ~180 MB)."""

    def __init__(self, n: int, generator: torch.Generator) -> None:
        self.n, self.generator = n, generator

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[int]:
        for block in torch.randperm(self.n, generator=self.generator).split(1 << 16):
            yield from block.tolist()
        torch.randperm(self.n, generator=self.generator)  # RandomSampler's second draw


def tensor_loader(
    *tensors: Tensor, batch_size: int, shuffle: bool, seed: int = 0,
    transform: Callable[..., tuple[Tensor, ...]] | None = None,
) -> DataLoader:
    """A DataLoader over tensors yielding batches; shuffled by a generator seeded with ``seed``;
    each batch passed through ``transform`` if given (see `TensorBatches`)."""
    data = TensorBatches(*tensors, transform=transform)
    generator = torch.Generator().manual_seed(seed)
    order = RandomOrder(len(data), generator) if shuffle else SequentialSampler(data)
    sampler = BatchSampler(order, batch_size=batch_size, drop_last=False)
    return DataLoader(data, sampler=sampler, batch_size=None)
