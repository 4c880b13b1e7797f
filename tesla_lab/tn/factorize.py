"""Split a dimension into tensor-train mode sizes: ``784 → (4, 4, 7, 7)``.

A TT layer views a feature axis of size ``n`` as ``d`` modes whose product is ``n``; the more balanced the modes,
the fewer parameters a core needs. :func:`factorize` picks the most balanced split (the one whose factors' logs
vary least), choosing ``d`` itself when it is not given. Nothing is ever padded silently: a size with fewer prime
factors than requested modes (a prime like 13 cannot be split in two) raises
:class:`~tesla_lab.errors.FactorizationError` that names a nearby size you can pad your features to.

>>> factorize(784)
(4, 4, 7, 7)
>>> factorize(625)
(5, 5, 5, 5)
>>> factorize(1000, 3)
(10, 10, 10)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

from tesla_lab.errors import ConfigError, FactorizationError, ShapeError

__all__ = ["factorize", "factorize_pair", "resolve_shapes", "check_shape", "prime_factors", "padded_size"]

# Mode size aimed at when d is chosen automatically: 784 -> d=4, 1024 -> d=4, 4096 -> d=5, 64 -> d=2. Modes of
# 4..8 keep each core step a reasonably sized GEMM while still cutting parameters well.
_AUTO_MODE_SIZE = 6


def _check_int(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


@lru_cache(maxsize=1024)
def prime_factors(n: int) -> tuple[int, ...]:
    """Prime factors of ``n`` with multiplicity, ascending.

    >>> prime_factors(784)
    (2, 2, 2, 2, 7, 7)
    """
    n = _check_int(n, "n", 1)
    out: list[int] = []
    p = 2
    while p * p <= n:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1 if p == 2 else 2
    if n > 1:
        out.append(n)
    return tuple(out)


def _auto_d(n: int) -> int:
    """Number of modes for ``n``: about log_6(n), at least 2 where possible, at most the number of prime factors."""
    omega = len(prime_factors(n))
    if omega < 2:
        return 1
    return max(2, min(omega, round(math.log(n) / math.log(_AUTO_MODE_SIZE))))


@lru_cache(maxsize=1024)
def _balanced(n: int, d: int) -> tuple[int, ...] | None:
    """Most balanced ascending ``d``-tuple of factors >= 2 with product ``n`` (None if there is none)."""
    if d == 1:
        return (n,) if n >= 2 else None
    divisors = sorted({math.prod(c) for c in _subsets(prime_factors(n))} - {1})
    best: tuple[float, tuple[int, ...]] | None = None

    def search(rest: int, k: int, low: int, acc: tuple[int, ...]) -> None:
        nonlocal best
        if k == 1:
            if rest >= low:
                cand = (*acc, rest)
                score = sum(math.log(f) ** 2 for f in cand)  # product fixed, so this is the spread of the logs
                if best is None or (score, cand) < best:
                    best = (score, cand)
            return
        for f in divisors:
            if f < low or rest % f:
                continue
            if f**k > rest:  # factors ascend: the k remaining ones are all >= f
                break
            search(rest // f, k - 1, f, (*acc, f))

    search(n, d, 2, ())
    return None if best is None else best[1]


def _subsets(primes: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Every sub-multiset of ``primes`` (as tuples); the products are the divisors."""
    subs: set[tuple[int, ...]] = {()}
    for p in primes:
        subs |= {(*s, p) for s in subs}
    return list(subs)


def padded_size(n: int, d: int = 2) -> tuple[int, tuple[int, ...]]:
    """The nearest size ``m > n`` that splits into ``d`` balanced factors (largest <= 2 x smallest), and those
    factors: what to zero-pad ``n`` features to for a tensor-train layer (a prime has no TT split).

    >>> padded_size(13)
    (15, (3, 5))
    """
    for m in range(n + 1, 2 * n + 2**d + 1):
        f = _balanced(m, d) if len(prime_factors(m)) >= d else None
        if f is not None and f[-1] <= 2 * f[0]:
            return m, tuple(f)
    m = 2**d * math.ceil(n / 2**d)
    return m, tuple(factorize(m, d))


def _padding_hint(n: int, d: int) -> str:
    """A nearby size > n that splits into d balanced factors (max/min <= 2), to suggest padding to."""
    m, f = padded_size(n, d)
    return f"pad it to {m} = {' x '.join(map(str, f))}"


def factorize(n: int, d: int | None = None) -> tuple[int, ...]:
    """Split ``n`` into ``d`` factors >= 2 whose product is ``n``, as balanced as possible, in ascending order.

    With ``d=None`` the number of factors is chosen for modes of about 6 (at least 2 where ``n`` has two prime
    factors; a prime comes back as ``(n,)``). Raises :class:`~tesla_lab.errors.FactorizationError` when ``n`` has
    fewer than ``d`` prime factors; the message suggests a size to pad to.

    >>> factorize(4096), factorize(64), factorize(13)
    ((4, 4, 4, 8, 8), (8, 8), (13,))
    >>> factorize(13, 2)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.FactorizationError: cannot split 13 into 2 factors >= 2: 13 has only 1 prime factor(s) (13); \
use d <= 1, or pad it to 15 = 3 x 5 (zero-pad the features)
    """
    n = _check_int(n, "n (the dimension to factorize)", 1)
    if d is None:
        d = _auto_d(n)
    d = _check_int(d, "d (the number of factors)", 1)
    if n == 1 and d == 1:
        return (1,)
    result = _balanced(n, d)
    if result is None:
        primes = prime_factors(n)
        raise FactorizationError(
            f"cannot split {n} into {d} factors >= 2: {n} has only {len(primes)} prime factor(s) "
            f"({' x '.join(map(str, primes)) or '1'}); use d <= {max(1, len(primes))}, or {_padding_hint(n, d)} "
            "(zero-pad the features)"
        )
    return result


def _ends_heavy(factors: Sequence[int]) -> tuple[int, ...]:
    """Reorder so the largest factors sit at both ends: (4, 4, 8, 8) -> (8, 4, 4, 8).

    The first and last TT cores have an outer rank of 1, so big modes cost least there.
    """
    d = len(factors)
    out = [0] * d
    left, right = 0, d - 1
    for i, f in enumerate(sorted(factors, reverse=True)):
        if i % 2 == 0:
            out[left] = f
            left += 1
        else:
            out[right] = f
            right -= 1
    return tuple(out)


def factorize_pair(
    out_features: int, in_features: int, d: int | None = None
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``(out_shape, in_shape)`` for a TT-matrix of a (out_features x in_features) weight: both split into the same
    number ``d`` of modes, largest modes at both ends (where the cores have an outer rank of 1).

    With ``d=None``, ``d`` is the smaller of the two automatic choices; it must come out >= 2, otherwise a TT layer
    would be a plain dense matrix and :class:`~tesla_lab.errors.FactorizationError` says so.

    >>> factorize_pair(1024, 1024)
    ((8, 4, 4, 8), (8, 4, 4, 8))
    >>> factorize_pair(256, 784)
    ((8, 4, 8), (14, 7, 8))
    >>> factorize_pair(10, 784)
    ((5, 2), (28, 28))
    >>> factorize_pair(64, 13)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.FactorizationError: in_features=13 is prime, so it cannot be split into >= 2 tensor-train \
modes; pad it to 15 = 3 x 5 (zero-pad the features) or pass in_shape and out_shape explicitly
    """
    out_features = _check_int(out_features, "out_features", 1)
    in_features = _check_int(in_features, "in_features", 1)
    if d is None:
        for name, n in (("in_features", in_features), ("out_features", out_features)):
            if len(prime_factors(n)) < 2:
                kind = "prime" if n > 1 else "1"
                raise FactorizationError(
                    f"{name}={n} is {kind}, so it cannot be split into >= 2 tensor-train modes; "
                    f"{_padding_hint(n, 2)} (zero-pad the features) or pass in_shape and out_shape explicitly"
                )
        d = min(_auto_d(in_features), _auto_d(out_features))
    return _ends_heavy(factorize(out_features, d)), _ends_heavy(factorize(in_features, d))


def check_shape(
    n: int, shape: Sequence[int], *, name: str = "in_shape", features: str = "in_features"
) -> tuple[int, ...]:
    """Return ``shape`` as a tuple of ints after checking that its product is ``n``.

    ``name`` and ``features`` only word the error message (``'out_shape'``/``'out_features'`` for outputs).

    >>> check_shape(784, [4, 7, 4, 7])
    (4, 7, 4, 7)
    >>> check_shape(784, (4, 7, 4, 8))
    Traceback (most recent call last):
    ...
    tesla_lab.errors.FactorizationError: in_shape (4, 7, 4, 8) multiplies to 896 but in_features is 784; use \
factors whose product is 784, e.g. (4, 4, 7, 7), or omit in_shape to factorize automatically
    """
    if isinstance(shape, (str, bytes)) or not isinstance(shape, Sequence) or len(shape) == 0:
        raise FactorizationError(
            f"{name} must be a non-empty sequence of positive ints whose product is {features}={n}; got {shape!r}"
        )
    if any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in shape):
        raise FactorizationError(f"{name} must hold positive ints (mode sizes); got {tuple(shape)!r}")
    shape = tuple(int(s) for s in shape)
    if math.prod(shape) != n:
        try:
            example = factorize(n, len(shape))
        except FactorizationError:
            example = factorize(n)
        raise FactorizationError(
            f"{name} {shape} multiplies to {math.prod(shape)} but {features} is {n}; use factors whose product is "
            f"{n}, e.g. {example}, or omit {name} to factorize automatically"
        )
    return shape


def resolve_shapes(
    out_features: int,
    in_features: int,
    out_shape: Sequence[int] | None = None,
    in_shape: Sequence[int] | None = None,
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``(out_shape, in_shape)`` for a TT-matrix: given shapes are checked with :func:`check_shape`, a missing one is
    factorized into as many modes as the other, both missing ones come from :func:`factorize_pair`.

    >>> resolve_shapes(64, 784, in_shape=(28, 28))
    ((8, 8), (28, 28))
    >>> resolve_shapes(64, 64, (4, 16), (4, 4, 4))
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ShapeError: out_shape (4, 16) and in_shape (4, 4, 4) must have the same number of modes (one \
core per pair); omit them to factorize both automatically
    """
    if out_shape is None and in_shape is None:
        return factorize_pair(out_features, in_features)
    if out_shape is not None:
        out_shape = check_shape(out_features, out_shape, name="out_shape", features="out_features")
    if in_shape is not None:
        in_shape = check_shape(in_features, in_shape, name="in_shape", features="in_features")
    if in_shape is None:
        in_shape = _ends_heavy(factorize(in_features, len(out_shape)))  # type: ignore[arg-type]
    if out_shape is None:
        out_shape = _ends_heavy(factorize(out_features, len(in_shape)))
    if len(out_shape) != len(in_shape):
        raise ShapeError(
            f"out_shape {out_shape} and in_shape {in_shape} must have the same number of modes (one core per pair); "
            "omit them to factorize both automatically"
        )
    return tuple(out_shape), tuple(in_shape)
