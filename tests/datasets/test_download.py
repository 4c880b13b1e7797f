"""``mnist.load_data()`` / ``fashion_mnist.load_data()``: cache, checked download from a loopback server, errors."""

import numpy as np
import pytest

import tesla_lab
from tesla_lab.datasets import ChecksumError, DownloadError, data_home, fashion_mnist, mnist
from tesla_lab.errors import TeslaError

from .conftest import NAMES, make_idx_files

MODULES = [pytest.param(mnist, "mnist", id="mnist"), pytest.param(fashion_mnist, "fashion-mnist", id="fashion")]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    monkeypatch.setenv("TESLA_DATA_DIR", str(root))
    for env in (mnist.MIRROR_ENV, fashion_mnist.MIRROR_ENV):
        monkeypatch.delenv(env, raising=False)
    return root


def _check_arrays(result, arrays):
    (x_train, y_train), (x_test, y_test) = result
    for got, name in zip((x_train, y_train, x_test, y_test), NAMES, strict=True):
        assert isinstance(got, np.ndarray) and got.dtype == np.uint8
        np.testing.assert_array_equal(got, arrays[name])
    assert x_train.shape == (12, 28, 28) and y_train.shape == (12,)


@pytest.mark.parametrize("module,folder", MODULES)
@pytest.mark.parametrize("how", ["url", "env", "attribute"])
def test_download_verifies_and_caches_the_four_files(idx_server, cache, monkeypatch, module, folder, how):
    url, _, arrays, sums, requests = idx_server
    monkeypatch.setattr(module, "FILES", sums)
    kwargs = {}
    if how == "url":
        kwargs["url"] = url
    elif how == "env":
        monkeypatch.setenv(module.MIRROR_ENV, url)
    else:
        monkeypatch.setattr(module, "BASE_URL", url)
    _check_arrays(module.load_data(**kwargs), arrays)
    assert sorted(requests) == sorted(f"/{n}" for n in NAMES)
    assert sorted(p.name for p in (cache / folder).iterdir()) == sorted(NAMES)  # no temporary files left


@pytest.mark.parametrize("module,folder", MODULES)
def test_cached_files_are_used_without_any_request(idx_server, cache, monkeypatch, module, folder):
    url, _, _, sums, requests = idx_server
    monkeypatch.setattr(module, "FILES", sums)
    cached, _ = make_idx_files(cache / folder, n_train=7, n_test=3, seed=1)  # different content from the server's
    (x_train, y_train), (x_test, _) = module.load_data(url=url)
    assert requests == []
    np.testing.assert_array_equal(x_train, cached[NAMES[0]])
    assert x_train.shape == (7, 28, 28) and x_test.shape == (3, 28, 28) and y_train.dtype == np.uint8


def test_only_the_missing_files_are_downloaded(idx_server, cache, monkeypatch):
    url, served, arrays, sums, requests = idx_server
    monkeypatch.setattr(mnist, "FILES", sums)
    (cache / "mnist").mkdir(parents=True)
    for name in NAMES[:2]:
        (cache / "mnist" / name).write_bytes((served / name).read_bytes())
    _check_arrays(mnist.load_data(url=url), arrays)
    assert sorted(requests) == sorted(f"/{n}" for n in NAMES[2:])


@pytest.mark.parametrize("module,folder", MODULES)
def test_checksum_mismatch_keeps_nothing_in_the_cache(idx_server, cache, monkeypatch, module, folder):
    url, _, _, sums, _ = idx_server
    bad = dict(sums, **{NAMES[0]: "0" * 64})
    monkeypatch.setattr(module, "FILES", bad)
    with pytest.raises(ChecksumError, match=rf"downloaded {NAMES[0]} from {url}{NAMES[0]} has SHA-256 "
                                            rf"{sums[NAMES[0]]}, but the published sum is 0{{64}}.*not kept"):
        module.load_data(url=url)
    assert list((cache / folder).iterdir()) == []  # neither the file nor a temporary part of it


@pytest.mark.parametrize("module,folder", MODULES)
def test_offline_error_names_the_cache_the_files_and_the_way_out(cache, refused_url, module, folder):
    with pytest.raises(DownloadError) as info:
        module.load_data(url=refused_url)
    message = str(info.value)
    assert isinstance(info.value, TeslaError) and isinstance(info.value, OSError)
    assert f"from {refused_url}{NAMES[0]}" in message and "refused" in message.lower()
    assert str(cache / folder) in message and "TESLA_DATA_DIR" in message and module.MIRROR_ENV in message
    assert all(name in message for name in NAMES)
    assert list((cache / folder).iterdir()) == []


def test_path_argument_and_default_cache_root(idx_server, tmp_path, monkeypatch):
    url, served, arrays, sums, _ = idx_server
    monkeypatch.delenv("TESLA_DATA_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data_home() == tmp_path / "home" / ".tesla" / "datasets"
    _check_arrays(mnist.load_data(served), arrays)  # an absolute folder holding the files: used as is
    monkeypatch.setattr(mnist, "FILES", sums)
    _check_arrays(mnist.load_data("digits", url=url), arrays)  # relative: under the cache root
    assert (tmp_path / "home" / ".tesla" / "datasets" / "digits" / NAMES[0]).is_file()


def test_non_http_url_is_refused(cache):
    with pytest.raises(DownloadError, match=r"download URL must start with http:// or https://; got 'ftp://x/"):
        mnist.load_data(url="ftp://x/")


def test_tesla_alias_exposes_datasets_lazily():
    from tesla.datasets import mnist as alias_mnist

    import tesla

    assert tesla.datasets.mnist is alias_mnist is mnist
    assert tesla_lab.datasets.fashion_mnist is fashion_mnist
