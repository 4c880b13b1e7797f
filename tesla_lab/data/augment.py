"""Batched image augmentation on torch tensors: random shifts, small rotations and gaussian noise.

Everything runs on the tensor's device as one ``affine_grid`` + ``grid_sample`` call per batch, and is
reproducible with a seed.

>>> import torch
>>> aug = Augment(shift=2, rotate=10, noise=0.05, seed=0)
>>> aug(torch.rand(4, 28, 28)).shape
torch.Size([4, 28, 28])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from tesla_lab.errors import ConfigError, DataError

__all__ = ["Augment", "affine_images"]


def _as_nchw(images: Any, image_shape: Sequence[int] | None) -> tuple[torch.Tensor, torch.Size]:
    """A (N, C, H, W) view of (N, H, W), (N, C, H, W) or, with ``image_shape``, flat (N, H*W) images."""
    if not isinstance(images, torch.Tensor):
        raise DataError(f"Augment works on torch tensors; got {type(images).__name__}; convert with torch.as_tensor(x)")
    if not images.is_floating_point():
        raise DataError(
            f"Augment needs floating-point images; got dtype {images.dtype}; scale them first, e.g. x.float() / 255"
        )
    shape = images.shape
    if image_shape is not None:
        if images.ndim != 2 or shape[1] != math.prod(image_shape):
            raise DataError(
                f"images of shape {tuple(shape)} do not hold flat images of shape {tuple(image_shape)}; "
                f"expected (N, {math.prod(image_shape)})"
            )
        return images.reshape(shape[0], -1, *image_shape[-2:]), shape
    if images.ndim == 3:
        return images.unsqueeze(1), shape
    if images.ndim == 4:
        return images, shape
    raise DataError(
        f"Augment takes images (N, H, W) or (N, C, H, W); got shape {tuple(shape)}. For flat images pass "
        "image_shape=(H, W)"
    )


def affine_images(images: torch.Tensor, shifts: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Shift each image by ``shifts[i] = (dx, dy)`` pixels (right, down) and rotate it by ``angles[i]`` degrees
    (counter-clockwise on screen) around its centre; pixels from outside are 0. ``images`` is (N, C, H, W).

    Integer shifts without rotation move pixels exactly (bilinear sampling lands on pixel centres).

    >>> img = torch.zeros(1, 1, 5, 5); img[0, 0, 2, 2] = 1.0
    >>> out = affine_images(img, torch.tensor([[1.0, -2.0]]), torch.zeros(1))
    >>> out[0, 0].nonzero().tolist()
    [[0, 3]]
    """
    n, _, h, w = images.shape
    rad = torch.deg2rad(angles.to(images.device, torch.float32))  # (N,)
    cos, sin = torch.cos(rad), torch.sin(rad)
    shifts = shifts.to(images.device, torch.float32)  # (N, 2) pixels
    # affine_grid maps each output position p to the input position it samples, in [-1, 1] units (a pixel is 2/W
    # wide, 2/H tall). We want out(p) = in(M (p - t)) with M the inverse rotation; in normalized units M becomes
    # S^-1 M S, S = diag(W/2, H/2). With y pointing down on screen this M turns content counter-clockwise.
    theta = torch.empty(n, 2, 3, device=images.device, dtype=torch.float32)  # (N, 2, 3)
    theta[:, 0, 0] = cos
    theta[:, 0, 1] = -sin * (h / w)
    theta[:, 1, 0] = sin * (w / h)
    theta[:, 1, 1] = cos
    # translation column: -M t, with t in normalized units
    tx, ty = shifts[:, 0] * (2.0 / w), shifts[:, 1] * (2.0 / h)
    theta[:, 0, 2] = -(theta[:, 0, 0] * tx + theta[:, 0, 1] * ty)
    theta[:, 1, 2] = -(theta[:, 1, 0] * tx + theta[:, 1, 1] * ty)
    grid = F.affine_grid(theta.to(images.dtype), list(images.shape), align_corners=False)  # (N, H, W, 2)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


class Augment:
    """Random augmentation for a batch of images: shift up to ``shift`` pixels (whole pixels, each axis),
    rotate by up to ``rotate`` degrees either way, add gaussian noise of std ``noise``.

    Each image gets its own draw. With ``seed`` the sequence of batches is reproducible (the random shifts and
    angles are drawn on the CPU, the noise on the images' device). All-zero settings return the input unchanged.
    ``image_shape=(H, W)`` accepts flat (N, H*W) rows and returns them flat; ``clamp=(0, 1)`` clips the result.

    >>> x = torch.rand(2, 1, 8, 8)
    >>> torch.equal(Augment(shift=0, rotate=0, noise=0)(x), x)
    True
    >>> Augment(shift=-1)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: shift must be a whole number of pixels >= 0; got -1
    """

    def __init__(
        self,
        shift: int = 2,
        rotate: float = 10.0,
        noise: float = 0.05,
        *,
        seed: int | None = None,
        image_shape: Sequence[int] | None = None,
        clamp: tuple[float, float] | None = None,
    ) -> None:
        # checked here, not lazily: an augmenter is built once and called every step
        if isinstance(shift, bool) or not isinstance(shift, int) or shift < 0:
            raise ConfigError(f"shift must be a whole number of pixels >= 0; got {shift!r}")
        if not isinstance(rotate, (int, float)) or not 0 <= rotate <= 180:
            raise ConfigError(f"rotate must be a maximum angle in degrees between 0 and 180; got {rotate!r}")
        if not isinstance(noise, (int, float)) or noise < 0:
            raise ConfigError(f"noise must be a standard deviation >= 0; got {noise!r}")
        if image_shape is not None and (len(image_shape) not in (2, 3) or min(image_shape) < 1):
            raise ConfigError(f"image_shape must be (H, W) or (C, H, W); got {image_shape!r}")
        if clamp is not None and not (len(clamp) == 2 and clamp[0] < clamp[1]):
            raise ConfigError(f"clamp must be (low, high) with low < high; got {clamp!r}")
        self.shift = shift
        self.rotate = float(rotate)
        self.noise = float(noise)
        self.seed = seed
        self.image_shape = tuple(image_shape) if image_shape is not None else None
        self.clamp = clamp
        self._generators: dict[torch.device, torch.Generator] = {}

    def __repr__(self) -> str:
        return f"Augment(shift={self.shift}, rotate={self.rotate}, noise={self.noise}, seed={self.seed})"

    def get_params(self) -> dict[str, Any]:
        """The settings as plain data (for a run's config).

        >>> Augment(seed=3).get_params()["seed"]
        3
        """
        return {
            "shift": self.shift,
            "rotate": self.rotate,
            "noise": self.noise,
            "seed": self.seed,
            "image_shape": list(self.image_shape) if self.image_shape else None,
            "clamp": list(self.clamp) if self.clamp else None,
        }

    def _generator(self, device: torch.device) -> torch.Generator | None:
        if self.seed is None:
            return None  # the global RNG (torch.manual_seed / tesla_lab.utils.set_seed)
        if device not in self._generators:
            gen = torch.Generator(device=device)
            # different streams per device so CPU params and GPU noise are not correlated
            gen.manual_seed(self.seed if device.type == "cpu" else self.seed + 1)
            self._generators[device] = gen
        return self._generators[device]

    def reset(self) -> None:
        """Restart the random sequence from ``seed``.

        >>> aug = Augment(seed=0); x = torch.rand(3, 8, 8)
        >>> a = aug(x); aug.reset(); torch.equal(aug(x), a)
        True
        """
        self._generators.clear()

    def sample(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw per-image ``shifts`` (n, 2) whole pixels and ``angles`` (n,) degrees, on the CPU.

        >>> shifts, angles = Augment(shift=1, rotate=0, seed=0).sample(4)
        >>> bool(shifts.abs().max() <= 1), angles.tolist()
        (True, [0.0, 0.0, 0.0, 0.0])
        """
        gen = self._generator(torch.device("cpu"))
        shifts = torch.randint(-self.shift, self.shift + 1, (n, 2), generator=gen).float()
        angles = (torch.rand(n, generator=gen) * 2 - 1) * self.rotate
        return shifts, angles

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """Augment a batch; returns a tensor of the same shape, dtype and device."""
        x, shape = _as_nchw(images, self.image_shape)
        if self.shift == 0 and self.rotate == 0 and self.noise == 0:
            return images
        if self.shift or self.rotate:
            shifts, angles = self.sample(x.shape[0])
            x = affine_images(x, shifts, angles)
        if self.noise:
            gen = self._generator(x.device)
            x = x + self.noise * torch.randn(x.shape, generator=gen, device=x.device, dtype=x.dtype)
        if self.clamp is not None:
            x = x.clamp(*self.clamp)
        return x.reshape(shape)
