import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tesla_lab.errors import ConfigError, FactorizationError, ShapeError
from tesla_lab.tn.factorize import check_shape, factorize, factorize_pair, prime_factors, resolve_shapes


@pytest.mark.parametrize(
    ("n", "d", "expected"),
    [(784, None, (4, 4, 7, 7)), (625, None, (5, 5, 5, 5)), (1024, 2, (32, 32)), (1000, 3, (10, 10, 10)),
     (12, 2, (3, 4)), (13, None, (13,)), (1, None, (1,)), (64, 1, (64,))],
)
def test_factorize_returns_the_most_balanced_split(n, d, expected):
    assert factorize(n, d) == expected


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 50_000), d=st.integers(1, 6))
def test_factorize_product_always_matches_or_explains(n, d):
    try:
        factors = factorize(n, d)
    except FactorizationError as exc:
        assert len(prime_factors(n)) < d
        assert "pad it to" in str(exc)
        return
    assert math.prod(factors) == n
    assert len(factors) == d
    assert list(factors) == sorted(factors)
    assert n == 1 or min(factors) >= 2


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 200_000))
def test_automatic_d_gives_factors_multiplying_to_n(n):
    factors = factorize(n)
    assert math.prod(factors) == n
    assert len(factors) <= max(1, len(prime_factors(n)))


def test_prime_cannot_be_split_and_the_error_suggests_padding():
    with pytest.raises(FactorizationError, match=r"cannot split 13 into 2 factors.*pad it to 15 = 3 x 5"):
        factorize(13, 2)


@pytest.mark.parametrize("bad", [0, -4, 2.5, True, "8"])
def test_factorize_rejects_non_positive_or_non_int_n(bad):
    with pytest.raises(ConfigError, match=r"n \(the dimension to factorize\) must be an integer >= 1"):
        factorize(bad)


def test_factorize_rejects_d_below_one():
    with pytest.raises(ConfigError, match=r"d \(the number of factors\) must be an integer >= 1; got 0"):
        factorize(16, 0)


def test_factorize_pair_uses_one_d_and_puts_big_modes_at_the_ends():
    out_shape, in_shape = factorize_pair(1024, 1024)
    assert out_shape == in_shape == (8, 4, 4, 8)
    out_shape, in_shape = factorize_pair(10, 784)
    assert len(out_shape) == len(in_shape) == 2
    assert math.prod(out_shape) == 10 and math.prod(in_shape) == 784


@settings(max_examples=40, deadline=None)
@given(out_f=st.integers(4, 5000), in_f=st.integers(4, 5000), d=st.integers(1, 3))
def test_factorize_pair_products_match(out_f, in_f, d):
    try:
        out_shape, in_shape = factorize_pair(out_f, in_f, d)
    except FactorizationError:
        assert min(len(prime_factors(out_f)), len(prime_factors(in_f))) < d
        return
    assert math.prod(out_shape) == out_f and math.prod(in_shape) == in_f
    assert len(out_shape) == len(in_shape) == d


@pytest.mark.parametrize(("out_f", "in_f", "name"), [(64, 13, "in_features=13 is prime"),
                                                     (1, 64, "out_features=1 is 1")])
def test_factorize_pair_refuses_sizes_without_two_modes(out_f, in_f, name):
    with pytest.raises(FactorizationError, match=name + r".*pass in_shape and out_shape explicitly"):
        factorize_pair(out_f, in_f)


def test_factorize_pair_rejects_bad_feature_counts():
    with pytest.raises(ConfigError, match="in_features must be an integer >= 1; got 0"):
        factorize_pair(8, 0)


def test_check_shape_accepts_a_matching_shape():
    assert check_shape(784, [4, 7, 4, 7]) == (4, 7, 4, 7)


def test_check_shape_names_product_and_suggests_a_fix():
    msg = (r"in_shape \(4, 7, 4, 8\) multiplies to 896 but in_features is 784; use factors whose product is 784, "
           r"e\.g\. \(4, 4, 7, 7\), or omit in_shape to factorize automatically")
    with pytest.raises(FactorizationError, match=msg):
        check_shape(784, (4, 7, 4, 8))


def test_check_shape_falls_back_to_automatic_example_when_d_is_impossible():
    with pytest.raises(FactorizationError, match=r"out_features is 13; .*e\.g\. \(13,\)"):
        check_shape(13, (2, 7), name="out_shape", features="out_features")


@pytest.mark.parametrize("bad", [(), "47", 5, None])
def test_check_shape_rejects_non_sequences(bad):
    with pytest.raises(FactorizationError, match="in_shape must be a non-empty sequence of positive ints"):
        check_shape(784, bad)


@pytest.mark.parametrize("bad", [(28, 28.0), (0, 784), (True, 784)])
def test_check_shape_rejects_non_positive_int_modes(bad):
    with pytest.raises(FactorizationError, match="in_shape must hold positive ints"):
        check_shape(784, bad)


def test_resolve_shapes_fills_the_missing_side_with_as_many_modes():
    assert resolve_shapes(64, 784, in_shape=[28, 28]) == ((8, 8), (28, 28))
    out_shape, in_shape = resolve_shapes(64, 784, out_shape=(4, 4, 4))
    assert len(in_shape) == 3 and math.prod(in_shape) == 784
    assert resolve_shapes(1024, 1024) == factorize_pair(1024, 1024)


def test_resolve_shapes_rejects_different_mode_counts():
    with pytest.raises(ShapeError, match=r"out_shape \(4, 16\) and in_shape \(4, 4, 4\) must have the same number"):
        resolve_shapes(64, 64, (4, 16), (4, 4, 4))
