import torch

from rnnkit.data.augment import augment
from rnnkit.data.digit_scenes import digit_scenes


def test_no_distortion_is_the_identity():
    x = digit_scenes("train", 4, seed=1).images.float()
    same = augment(x, rotate=0, scale=0, shift=0, elastic=0)
    assert torch.allclose(same, x, atol=1e-2)


def test_each_image_gets_its_own_small_distortion():
    x = digit_scenes("train", 8, seed=1).images.float()
    torch.manual_seed(0)
    y = augment(x)
    assert y.shape == x.shape and y.min() >= 0 and y.max() <= 255
    change = (y - x).abs().flatten(1).mean(1)
    assert bool((change > 0.5).all())  # every image moved
    ink = y.flatten(1).sum(1) / x.flatten(1).sum(1)
    assert bool(((ink > 0.75) & (ink < 1.3)).all())  # digits distorted, not destroyed
    torch.manual_seed(0)
    assert torch.equal(augment(x), y)  # the global random stream decides
    one = torch.zeros(1, 1, 32, 96)
    one[0, 0, 10:20, 40:50] = 255.0
    moved = augment(one.expand(16, -1, -1, -1).clone(), elastic=0)
    centres = [(m[0] > 100).nonzero().float().mean(0) for m in moved]
    assert all(((c - torch.tensor([14.5, 44.5])).abs() < 4).all() for c in centres)
