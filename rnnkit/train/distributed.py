"""Data-parallel training over several processes (Lightning's DDP): settings, ranks, sharding.

Every process runs the whole command (Lightning's ``ddp`` launcher starts the other local
processes by re-running it; ``torchrun`` or SLURM start them all), builds the same model from
the same seed, and trains on its share of every batch; DDP averages the gradients, so all
processes hold the same weights after every step. Only the main process (global rank 0)
writes files. Each global batch of ``batch_size`` items is split between the W processes
(items ``r, r + W, ...`` go to rank r), so W processes take the same optimisation steps as one
process with the same batch size: the averaged gradient equals the whole batch's mean gradient
when W divides the batch (per-process means are averaged, so an uneven split weights items
slightly differently, and sums of floats are added in another order).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch.distributed as dist
from torch.utils.data import DataLoader, Sampler

from rnnkit.errors import InputError

#: ``auto``: one process when devices x nodes is 1, else ``ddp``. Spawning launchers
#: (``ddp_spawn``, ``ddp_fork``) are not offered: they train in child processes whose state
#: (history, best weights) never reaches the command that started them.
STRATEGIES = ("auto", "ddp")


@dataclass
class Parallel:
    """How many processes train: ``devices`` per node (GPUs, or CPU processes) on ``num_nodes``
    machines, coordinated by ``strategy``. The default is one process."""

    devices: int = 1
    strategy: str = "auto"
    num_nodes: int = 1

    def validate(self) -> None:
        """Raise `InputError` naming the first bad setting."""
        if self.devices < 1:
            raise InputError(f"--devices {self.devices}; expected at least 1 process per node")
        if self.num_nodes < 1:
            raise InputError(f"--num-nodes {self.num_nodes}; expected at least 1 machine")
        if self.strategy not in STRATEGIES:
            raise InputError(f"--strategy {self.strategy!r} is not known; use one of "
                             f"{', '.join(STRATEGIES)} (ddp runs one process per device)")

    @property
    def world_size(self) -> int:
        """The number of training processes in all."""
        return self.devices * self.num_nodes

    @property
    def lightning_strategy(self) -> str:
        """The strategy name handed to Lightning's ``Trainer``."""
        return "ddp" if self.world_size > 1 else "auto"


def is_main_process() -> bool:
    """Whether this process is the one that writes the run (global rank 0), read from the
    launcher's environment before training starts (True when alone).

    ``torchrun`` sets ``RANK``; Lightning's launcher sets ``NODE_RANK`` and ``LOCAL_RANK``
    (checked before ``SLURM_PROCID``, which SLURM may set for a whole allocation); SLURM's
    ``srun`` sets ``SLURM_PROCID``.
    """
    env = os.environ
    if "RANK" in env:
        return int(env["RANK"]) == 0
    if "LOCAL_RANK" in env:
        return int(env["LOCAL_RANK"]) == 0 and int(env.get("NODE_RANK", 0)) == 0
    return int(env.get("SLURM_PROCID", 0)) == 0


def local_rank() -> int:
    """This process's index on its machine (which GPU it uses), 0 when alone."""
    return int(os.environ.get("LOCAL_RANK", os.environ.get("SLURM_LOCALID", 0)))


def rank_and_world() -> tuple[int, int]:
    """(global rank, number of processes) of the running process group, (0, 1) without one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def epoch_seed(seed: int, epoch: int, rank: int) -> int:
    """A seed for one process's random draws (dropout) in one epoch: distinct per rank, so
    processes do not drop the same units, and a function of the epoch, so resuming from an
    epoch checkpoint draws the same."""
    return int(np.random.SeedSequence([seed, epoch, rank]).generate_state(1)[0])


class ShardedBatches(Sampler[list[int]]):
    """This process's share of every batch of index lists drawn by ``batches``.

    Every process draws the same batches (same sampler, same seed) and keeps items
    ``rank, rank + W, ...``; a batch smaller than W gives its items round-robin, so every
    process gets at least one item and all take the same number of steps.
    """

    def __init__(self, batches: Sampler[list[int]]) -> None:
        self.sampler = batches  # named like torch's wrappers, so the generator can be found

    def __len__(self) -> int:
        return len(self.sampler)

    def __iter__(self) -> Iterator[list[int]]:
        rank, world = rank_and_world()
        for batch in self.sampler:
            if not isinstance(batch, list | tuple):
                raise ValueError("distributed training needs a loader whose sampler draws whole "
                                 f"batches of indices (rnnkit's loaders do); it drew {batch!r}")
            yield list(batch[rank % len(batch)::world])


def shard_loader(loader: DataLoader) -> DataLoader:
    """The same loader, yielding this process's share of each batch (see `ShardedBatches`)."""
    common = {"num_workers": loader.num_workers, "pin_memory": loader.pin_memory,
              "collate_fn": loader.collate_fn}
    if loader.batch_sampler is not None:  # batches of indices collated item by item
        return DataLoader(loader.dataset, batch_sampler=ShardedBatches(loader.batch_sampler),
                          **common)
    return DataLoader(loader.dataset, sampler=ShardedBatches(loader.sampler), batch_size=None,
                      **common)
