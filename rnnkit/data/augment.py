"""Image augmentation on the fly, batched in torch: a small random affine map and an elastic
distortion per image (Simard et al. 2003, who found elastic distortions the key to reading
unseen handwriting). Used while training a captioner only; the pixels stay in 0..255.

    x = augment(images.float(), rotate=6, scale=0.08, shift=0.02, elastic=0.7, sigma=3.0)
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.nn import functional as F


def _gaussian_blur(field: Tensor, sigma: float) -> Tensor:
    """Blur each channel of (B, C, H, W) with a separable Gaussian of std ``sigma`` pixels."""
    radius = max(1, int(3 * sigma))
    taps = torch.arange(-radius, radius + 1, dtype=field.dtype, device=field.device)
    kernel = torch.exp(-0.5 * (taps / sigma) ** 2)
    kernel = kernel / kernel.sum()
    C = field.shape[1]
    field = F.conv2d(F.pad(field, (radius, radius, 0, 0), mode="reflect"),
                     kernel.view(1, 1, 1, -1).expand(C, 1, 1, -1), groups=C)
    return F.conv2d(F.pad(field, (0, 0, radius, radius), mode="reflect"),
                    kernel.view(1, 1, -1, 1).expand(C, 1, -1, 1), groups=C)


def augment(images: Tensor, rotate: float = 6.0, scale: float = 0.08, shift: float = 0.02,
            elastic: float = 0.7, sigma: float = 3.0) -> Tensor:
    """Each image (B, C, H, W) float, moved by its own random map: rotation up to ``rotate``
    degrees, scaling by up to ``scale`` (each axis), translation up to ``shift`` of the size,
    and an elastic displacement field (white noise blurred with std ``sigma`` pixels, scaled
    so its typical displacement is ``elastic`` pixels). Uses torch's global random stream;
    the empty border is zero (the background)."""
    B, _, H, W = images.shape
    device, dtype = images.device, images.dtype
    angle = (torch.rand(B, device=device) * 2 - 1) * math.radians(rotate)
    sx = 1 + (torch.rand(B, device=device) * 2 - 1) * scale
    sy = 1 + (torch.rand(B, device=device) * 2 - 1) * scale
    tx, ty = ((torch.rand(2, B, device=device) * 2 - 1) * 2 * shift)
    aspect = W / H  # rotate in pixels, not in the [-1, 1] box of a wide image
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack([torch.stack([cos / sx, -sin / sx / aspect, tx], -1),
                         torch.stack([sin * aspect / sy, cos / sy, ty], -1)], 1).to(dtype)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)  # (B, H, W, 2)
    if elastic > 0:
        noise = torch.randn(B, 2, H, W, device=device, dtype=dtype)
        field = _gaussian_blur(noise, sigma)
        field = field / field.std(dim=(2, 3), keepdim=True).clamp_min(1e-6) * elastic
        pixels = torch.tensor([2.0 / W, 2.0 / H], device=device, dtype=dtype)
        grid = grid + field.permute(0, 2, 3, 1) * pixels
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros",
                         align_corners=False)
