import pytest
import torch
from torch.utils.data import BatchSampler, RandomSampler

from rnnkit.train.loader import RandomOrder, tensor_loader


@pytest.mark.parametrize("n, batch", [(10, 3), (12, 4), (5, 8), (70_000, 1000)])
def test_random_order_draws_as_torchs_random_sampler(n, batch):
    mine, torchs = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    ours = BatchSampler(RandomOrder(n, mine), batch, drop_last=False)
    reference = BatchSampler(RandomSampler(range(n), generator=torchs), batch, drop_last=False)
    assert len(ours) == len(reference)
    for _ in range(3):  # epochs: the generator must be left where torch leaves it
        assert list(ours) == list(reference)
        assert torch.equal(mine.get_state(), torchs.get_state())


def test_tensor_loader_transforms_each_batch():
    x, y = torch.arange(10.0), torch.arange(10.0) * 2
    loader = tensor_loader(x, y, batch_size=4, shuffle=False,
                           transform=lambda a, b: (a + 1, b.long()))
    batches = list(loader)
    assert [len(a) for a, _ in batches] == [4, 4, 2]
    assert torch.equal(batches[0][0], torch.tensor([1.0, 2, 3, 4]))
    assert batches[2][1].dtype == torch.long and batches[2][1].tolist() == [16, 18]
