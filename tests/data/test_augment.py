import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tesla_lab.data import Augment, affine_images
from tesla_lab.errors import ConfigError, DataError


def _dot(h=9, w=9, row=4, col=4, n=1):
    img = torch.zeros(n, 1, h, w)
    img[:, 0, row, col] = 1.0
    return img


@pytest.mark.parametrize("shape", [(3, 8, 8), (3, 2, 8, 8), (3, 7, 5)])
def test_shape_dtype_and_device_are_preserved(shape):
    x = torch.rand(shape)
    out = Augment(shift=2, rotate=15, noise=0.1, seed=0)(x)
    assert out.shape == x.shape and out.dtype == x.dtype and out.device == x.device


def test_zero_settings_are_the_identity():
    x = torch.rand(4, 1, 6, 6)
    assert Augment(shift=0, rotate=0, noise=0)(x) is x
    # no noise and no rotation with shift 0: the resampling alone must not blur anything
    out = affine_images(x, torch.zeros(4, 2), torch.zeros(4))
    torch.testing.assert_close(out, x)


@settings(max_examples=40, deadline=None)
@given(dx=st.integers(-3, 3), dy=st.integers(-3, 3))
def test_integer_shift_moves_a_pixel_exactly(dx, dy):
    out = affine_images(_dot(), torch.tensor([[float(dx), float(dy)]]), torch.zeros(1))
    expected = torch.zeros_like(out)
    expected[0, 0, 4 + dy, 4 + dx] = 1.0
    torch.testing.assert_close(out, expected, atol=1e-6, rtol=0)


def test_random_shifts_move_mass_by_the_drawn_amount():
    x = _dot(h=12, w=12, row=6, col=6, n=16)
    aug = Augment(shift=2, rotate=0, noise=0, seed=5)
    shifts, _ = aug.sample(16)
    aug.reset()
    out = aug(x)
    assert torch.allclose(out.sum(dim=(1, 2, 3)), torch.ones(16))  # no mass leaves a centred dot
    rows = torch.arange(12.0)
    com_y = (out[:, 0].sum(dim=2) * rows).sum(dim=1)  # (N,) centre of mass
    com_x = (out[:, 0].sum(dim=1) * rows).sum(dim=1)
    torch.testing.assert_close(com_x, 6 + shifts[:, 0], atol=1e-5, rtol=0)
    torch.testing.assert_close(com_y, 6 + shifts[:, 1], atol=1e-5, rtol=0)
    assert shifts.abs().max() <= 2 and len(set(map(tuple, shifts.tolist()))) > 1  # per-image draws


def test_rotation_by_90_degrees_turns_counter_clockwise_on_screen():
    right_of_centre = _dot(h=9, w=9, row=4, col=7)
    out = affine_images(right_of_centre, torch.zeros(1, 2), torch.tensor([90.0]))
    assert out[0, 0].argmax().item() == 1 * 9 + 4  # row 1 (above the centre), column 4


def test_rotation_keeps_the_aspect_ratio_of_non_square_images():
    # 9 x 13 image, centre pixel (row 4, col 6); a dot 3 pixels right of it must end 3 pixels above it after a
    # quarter turn (rotating in [-1, 1] units instead would land it about 2 pixels above: stretched)
    img = _dot(h=9, w=13, row=4, col=9)
    out = affine_images(img, torch.zeros(1, 2), torch.tensor([90.0]))
    assert divmod(out[0, 0].argmax().item(), 13) == (1, 6)
    torch.testing.assert_close(out.sum(), torch.tensor(1.0), atol=1e-5, rtol=0)


def test_small_rotation_keeps_most_of_the_image():
    x = torch.zeros(1, 1, 28, 28)
    x[..., 8:20, 8:20] = 1.0
    out = Augment(shift=0, rotate=10, noise=0, seed=1)(x)
    assert not torch.equal(out, x)
    assert abs(out.sum().item() - x.sum().item()) / x.sum().item() < 0.02  # rotation keeps the area


def test_noise_has_the_asked_standard_deviation():
    x = torch.zeros(64, 16, 16)
    out = Augment(shift=0, rotate=0, noise=0.1, seed=0)(x)
    assert abs(out.std().item() - 0.1) < 0.01 and abs(out.mean().item()) < 0.01


def test_same_seed_same_batches_and_sequence_advances():
    x = torch.rand(5, 10, 10)
    a, b = Augment(seed=7), Augment(seed=7)
    first = a(x)
    torch.testing.assert_close(first, b(x))
    torch.testing.assert_close(a(x), b(x))  # second batch: equal to each other ...
    assert not torch.equal(a(x), first)  # ... but not a repeat of the first
    assert not torch.equal(Augment(seed=8)(x), first)


def test_flat_rows_with_image_shape_and_clamp():
    x = torch.rand(3, 28 * 28)
    out = Augment(noise=0.5, seed=0, image_shape=(28, 28), clamp=(0.0, 1.0))(x)
    assert out.shape == (3, 784) and out.min() >= 0 and out.max() <= 1
    with pytest.raises(DataError, match=r"do not hold flat images of shape \(28, 28\); expected \(N, 784\)"):
        Augment(image_shape=(28, 28))(torch.rand(3, 100))


def test_bad_inputs_and_settings():
    with pytest.raises(DataError, match=r"needs floating-point images; got dtype torch.uint8; .*x.float\(\) / 255"):
        Augment()(torch.zeros(2, 4, 4, dtype=torch.uint8))
    with pytest.raises(DataError, match="works on torch tensors; got ndarray"):
        Augment()(np.zeros((2, 4, 4), np.float32))
    with pytest.raises(DataError, match=r"takes images \(N, H, W\) or \(N, C, H, W\); got shape \(4, 4\)"):
        Augment()(torch.zeros(4, 4))
    for kw, msg in [
        ({"shift": 1.5}, "shift must be a whole number of pixels"),
        ({"rotate": 400}, "rotate must be a maximum angle in degrees between 0 and 180"),
        ({"noise": -1}, "noise must be a standard deviation >= 0"),
        ({"image_shape": (28,)}, r"image_shape must be \(H, W\) or \(C, H, W\)"),
        ({"clamp": (1, 0)}, r"clamp must be \(low, high\) with low < high"),
    ]:
        with pytest.raises(ConfigError, match=msg):
            Augment(**kw)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_runs_on_the_gpu_and_matches_cpu_geometry():
    x = torch.rand(8, 1, 28, 28)
    cpu = Augment(shift=2, rotate=10, noise=0, seed=0)(x)
    gpu = Augment(shift=2, rotate=10, noise=0, seed=0)(x.cuda())
    assert gpu.is_cuda
    torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-4, rtol=0)  # same draws: shifts/angles come from the CPU
    noisy = Augment(noise=0.1, seed=0)(x.cuda())
    torch.testing.assert_close(noisy, Augment(noise=0.1, seed=0)(x.cuda()))
