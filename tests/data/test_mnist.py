import gzip
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tesla_lab.data import load_mnist, mnist_files, read_idx, write_idx
from tesla_lab.errors import ConfigError, DataError

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


@settings(max_examples=30, deadline=None)
@given(
    array=st.sampled_from(DTYPES).flatmap(
        lambda dt: hnp.arrays(dt, hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5),
                              elements={"allow_nan": False} if np.dtype(dt).kind == "f" else None)
    ),
    compress=st.booleans(),
)
def test_write_then_read_round_trips_every_idx_type(tmp_path_factory, array, compress):
    path = tmp_path_factory.mktemp("idx") / ("a.idx.gz" if compress else "a.idx")
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == array.dtype.newbyteorder("=") and back.shape == array.shape
    np.testing.assert_array_equal(back, array)


def test_header_is_big_endian_as_the_format_says(tmp_path):
    path = tmp_path / "x-idx1-ubyte"
    write_idx(path, np.array([1, 258], dtype=np.int32))
    raw = path.read_bytes()
    assert raw[:4] == bytes([0, 0, 0x0C, 1])
    assert struct.unpack(">I", raw[4:8]) == (2,)
    assert struct.unpack(">ii", raw[8:]) == (1, 258)


def test_handwritten_mnist_header_is_parsed(tmp_path):
    # a file written byte by byte the way the MNIST site describes it, not by write_idx
    payload = struct.pack(">BBBBIII", 0, 0, 0x08, 3, 2, 2, 3) + bytes(range(12))
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(payload))
    out = read_idx(path)
    assert out.shape == (2, 2, 3) and out.dtype == np.uint8
    assert out[1, 1].tolist() == [9, 10, 11]


def _standard_files(directory, n=3, dotted=False, gz=True):
    images = np.random.default_rng(0).integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = np.arange(n, dtype=np.uint8) % 10
    sep = "." if dotted else "-"
    ext = ".gz" if gz else ""
    write_idx(directory / f"train-images{sep}idx3-ubyte{ext}", images)
    write_idx(directory / f"train-labels{sep}idx1-ubyte{ext}", labels)
    return images, labels


@pytest.mark.parametrize(("dotted", "gz"), [(False, True), (False, False), (True, False)])
def test_load_mnist_finds_standard_and_dotted_names(tmp_path, dotted, gz):
    images, labels = _standard_files(tmp_path, dotted=dotted, gz=gz)
    got_images, got_labels = load_mnist(tmp_path)
    assert got_images.dtype == np.uint8 and got_images.shape == (3, 28, 28)
    assert got_labels.dtype == np.int64 and got_labels.tolist() == labels.tolist()
    np.testing.assert_array_equal(got_images, images)


def test_test_is_an_alias_of_t10k(tmp_path):
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((1, 28, 28), np.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([4], np.uint8))
    assert load_mnist(tmp_path, kind="test")[1].tolist() == [4]
    assert mnist_files(tmp_path, "t10k")[0].name == "t10k-images-idx3-ubyte"


def test_bad_magic_is_named(tmp_path):
    path = tmp_path / "bad-idx3-ubyte"
    path.write_bytes(b"\x01\x02\x08\x03" + b"\x00" * 16)
    with pytest.raises(DataError, match=r"'.*bad-idx3-ubyte' is not an IDX file: bad magic number 0x01020803"):
        read_idx(path)


def test_unknown_type_code_is_named(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(bytes([0, 0, 0x07, 1]) + struct.pack(">I", 0))
    with pytest.raises(DataError, match="unknown data type code 0x07"):
        read_idx(path)


def test_truncated_files_are_named(tmp_path):
    path = tmp_path / "cut-idx3-ubyte"
    full = struct.pack(">BBBBIII", 0, 0, 0x08, 3, 2, 28, 28) + bytes(2 * 28 * 28)
    path.write_bytes(full[:-100])
    with pytest.raises(DataError, match=r"is truncated: shape \(2, 28, 28\) needs 1568 data bytes, the file has 1468"):
        read_idx(path)
    path.write_bytes(full + b"\x00")
    with pytest.raises(DataError, match="is longer than its header says"):
        read_idx(path)
    path.write_bytes(full[:10])
    with pytest.raises(DataError, match=r"truncated inside its header \(10 of 16 bytes\)"):
        read_idx(path)
    path.write_bytes(b"\x00\x00")
    with pytest.raises(DataError, match="shorter than the 4-byte magic number"):
        read_idx(path)


def test_damaged_gzip_is_named(tmp_path):
    path = tmp_path / "x-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 1, 5]))[:-6])
    with pytest.raises(DataError, match="damaged gzip archive"):
        read_idx(path)


def test_missing_files_and_mismatched_pairs(tmp_path):
    with pytest.raises(DataError, match="IDX file '.*nothing' not found; check the path"):
        read_idx(tmp_path / "nothing")
    with pytest.raises(DataError, match=r"no MNIST images file for split 'train' .*looked for train-images-idx3-ubyte"):
        load_mnist(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((2, 28, 28), np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(3, np.uint8))
    with pytest.raises(DataError, match="has 2 images but .* has 3 labels"):
        load_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros((2, 1), np.uint8))
    with pytest.raises(DataError, match=r"holds shape \(2, 1\); expected \(N,\)"):
        load_mnist(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((2, 784), np.uint8))
    with pytest.raises(DataError, match=r"holds shape \(2, 784\); expected \(N, rows, cols\)"):
        load_mnist(tmp_path)
    with pytest.raises(DataError, match="MNIST directory '.*nowhere' not found"):
        load_mnist(tmp_path / "nowhere")


def test_write_refuses_types_idx_cannot_hold(tmp_path):
    with pytest.raises(ConfigError, match=r"IDX cannot store dtype int64; convert first, e.g. array.astype\(np.int32"):
        write_idx(tmp_path / "x", np.zeros(2, np.int64))
    with pytest.raises(ConfigError, match=r"IDX cannot store dtype complex128; .*astype\(np.float32\)"):
        write_idx(tmp_path / "x", np.zeros(2, np.complex128))
    with pytest.raises(ConfigError, match="1 to 255 dimensions; got a 0-d array"):
        write_idx(tmp_path / "x", np.uint8(3))
    with pytest.raises(ConfigError, match="unknown MNIST split 'val'"):
        load_mnist(tmp_path, kind="val")
