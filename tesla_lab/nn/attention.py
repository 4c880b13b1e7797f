"""Multi-head self-attention with sparse score masks (local window, block-diagonal, or full).

The score mask of :class:`SparseAttention` is a boolean (T, T) matrix, ``True`` where query ``i`` may attend to
key ``j``:

- ``'local'``: ``|i - j| <= window`` (a band of width ``2 * window + 1``);
- ``'block'``: ``i // block_size == j // block_size`` (block-diagonal; there is *no* global token, so blocks never
  exchange information inside one layer; stack layers with another type to mix them);
- ``'full'``: every pair (dense attention).

``causal=True`` further keeps only ``j <= i``. Masks are built once per (T, device) and cached. When the mask is
sparse enough to pay off, the layer computes only the tiles the mask touches (:mod:`tesla_lab.nn.block_sparse`:
gather each query block's key blocks, then one batched SDPA call); otherwise, or for 'full', it calls
:func:`torch.nn.functional.scaled_dot_product_attention` on the whole (T, T) score matrix. Both give the same result
as dense masked attention (bench/sparse_attention.py measures the speed-up).

>>> import torch
>>> attn = SparseAttention(16, num_heads=2, attention_type="local", window=2)
>>> attn(torch.randn(3, 10, 16)).shape
torch.Size([3, 10, 16])
>>> attn(torch.randn(3, 40)).shape  # 40 features are not whole tokens of 16
Traceback (most recent call last):
...
tesla_lab.errors.ShapeError: SparseAttention got 2-D input of width 40, which is not a whole number of tokens of \
embed_dim=16; pass (batch, seq_len, embed_dim) or flat (batch, seq_len * embed_dim) features
>>> attn(torch.randn(3, 48)).shape  # flat features: 3 tokens of 16
torch.Size([3, 48])
"""

from __future__ import annotations

import numbers
from collections import OrderedDict
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from tesla_lab._registry import Registry
from tesla_lab.errors import ConfigError, ShapeError
from tesla_lab.nn.block_sparse import BlockLayout, block_sparse_attention, choose_block

__all__ = ["SparseAttention", "ATTENTION_TYPES", "attention_mask"]

_Plan = tuple["torch.Tensor | None", "BlockLayout | None"]
# A mask builder maps (T, window, block_size, device) to a (T, T) bool mask, or None for "every pair".
MaskBuilder = Callable[[int, int, int, torch.device], "torch.Tensor | None"]


def _local_mask(t: int, window: int, block_size: int, device: torch.device) -> torch.Tensor:
    pos = torch.arange(t, device=device)
    return (pos[:, None] - pos[None, :]).abs() <= window  # (T, T)


def _block_mask(t: int, window: int, block_size: int, device: torch.device) -> torch.Tensor:
    block = torch.arange(t, device=device) // block_size
    return block[:, None] == block[None, :]  # (T, T)


def _full_mask(t: int, window: int, block_size: int, device: torch.device) -> None:
    return None


ATTENTION_TYPES: Registry[torch.Tensor | None] = Registry("attention_type")
"""Score-mask builders by name (``'local'``, ``'block'``, ``'full'`` and aliases)."""
ATTENTION_TYPES.register("local", _local_mask, "window", "sliding_window")
ATTENTION_TYPES.register("block", _block_mask, "block_sparse", "sparse")  # "sparse": the TESLA documents
ATTENTION_TYPES.register("full", _full_mask, "dense")

_CANONICAL = {id(_local_mask): "local", id(_block_mask): "block", id(_full_mask): "full"}
_MAX_CACHED_MASKS = 8
# Take the block-sparse path when its estimated cost (tiles x (block^2 + per-tile overhead)) is at most this fraction
# of T^2. Measured on the CPU (torch 2.13, float32, B=4, H=4, D=32, fwd+bwd): a dense masked SDPA entry costs about
# half a gathered one, and a tile about 512 entries of fixed overhead; 0.4 keeps a margin (the sparse path wins from
# ~2x at this threshold to 3-8x at 3 % density; bench/sparse_attention.py).
_SPARSE_MAX_COST = 0.4


def attention_mask(
    seq_len: int,
    attention_type: str = "local",
    *,
    window: int = 16,
    block_size: int = 16,
    causal: bool = False,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """The (T, T) boolean score mask (``True`` = may attend) of an attention type.

    >>> attention_mask(4, "local", window=1).int()
    tensor([[1, 1, 0, 0],
            [1, 1, 1, 0],
            [0, 1, 1, 1],
            [0, 0, 1, 1]], dtype=torch.int32)
    >>> attention_mask(4, "block", block_size=2, causal=True).int()
    tensor([[1, 0, 0, 0],
            [1, 1, 0, 0],
            [0, 0, 1, 0],
            [0, 0, 1, 1]], dtype=torch.int32)
    """
    device = torch.device("cpu") if device is None else torch.device(device)
    mask = ATTENTION_TYPES.get(attention_type)(seq_len, window, block_size, device)
    if mask is None:
        mask = torch.ones(seq_len, seq_len, dtype=torch.bool, device=device)
    if causal:
        mask = mask & torch.ones(seq_len, seq_len, dtype=torch.bool, device=device).tril()
    return mask


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ConfigError(f"{name} must be an int >= {minimum}; got {value!r}")
    return int(value)


class SparseAttention(nn.Module):
    """Multi-head self-attention over (batch, seq_len, embed_dim) with a local, block-sparse or full score mask.

    Inputs may also be flat 2-D features (batch, seq_len * embed_dim), as between dense layers of a Keras-like
    model: they are split into tokens of ``embed_dim`` features (``seq_len`` is inferred unless given) and the
    output is flattened back to the same shape. Projections follow ``nn.MultiheadAttention``: ``in_proj``
    (E → 3E, rows ordered q, k, v) and ``out_proj`` (E → E).

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> attn = SparseAttention(32, num_heads=4, attention_type="block", block_size=8, causal=True)
    >>> attn(torch.randn(2, 24, 32)).shape
    torch.Size([2, 24, 32])
    >>> attn.num_params, round(attn.mask_density(24), 4)
    (4224, 0.1875)
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int = 4,
        *,
        attention_type: str = "local",
        window: int = 16,
        block_size: int = 16,
        dropout: float = 0.0,
        causal: bool = False,
        bias: bool = True,
        seq_len: int | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        embed_dim = _check_int("embed_dim", embed_dim, 1)
        num_heads = _check_int("num_heads", num_heads, 1)
        if embed_dim % num_heads:
            choices = [h for h in range(1, embed_dim + 1) if embed_dim % h == 0]
            raise ConfigError(
                f"embed_dim must be divisible by num_heads (each head gets embed_dim / num_heads features); got "
                f"embed_dim={embed_dim}, num_heads={num_heads}. Use num_heads in {choices}"
            )
        self._build_mask = ATTENTION_TYPES.get(attention_type)  # ConfigError naming the choices
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0.0 <= dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1): probability of dropping an attention weight; got "
                              f"{dropout!r}")
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.attention_type = _CANONICAL[id(self._build_mask)]
        self.window = _check_int("window", window, 0)
        self.block_size = _check_int("block_size", block_size, 1)
        self.dropout = float(dropout)
        self.causal = bool(causal)
        self.seq_len = None if seq_len is None else _check_int("seq_len", seq_len, 1)
        factory = {"device": device, "dtype": dtype}
        self.in_proj = nn.Linear(embed_dim, 3 * embed_dim, bias=bias, **factory)
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias, **factory)
        # (T, device) → ((T, T) bool mask or None, block layout or None); a small LRU so variable lengths don't grow
        # memory without bound.
        self._mask_cache: OrderedDict[tuple[int, torch.device], _Plan] = OrderedDict()

    # ----------------------------------------------------------------------------------------------- masks
    def _mask(self, t: int, device: torch.device) -> _Plan:
        """How to attend at length ``t``: the SDPA ``attn_mask`` (None when every pair may attend, or causal 'full'
        uses is_causal) and the block layout when the block-sparse path is cheaper."""
        key = (t, device)
        if key in self._mask_cache:
            self._mask_cache.move_to_end(key)
            return self._mask_cache[key]
        mask = self._build_mask(t, self.window, self.block_size, device)
        # A band/block mask that covers every pair is the full mask: drop it so SDPA can use flash kernels.
        if mask is not None and bool(mask.all()):
            mask = None
        if mask is not None and self.causal:
            mask = mask & torch.ones(t, t, dtype=torch.bool, device=device).tril()
        layout = None
        if mask is not None:
            layout = choose_block(mask)
            if layout.cost > _SPARSE_MAX_COST * t * t:
                layout = None
        plan = self._mask_cache[key] = (mask, layout)
        if len(self._mask_cache) > _MAX_CACHED_MASKS:
            self._mask_cache.popitem(last=False)
        return plan

    def attention_mask(self, seq_len: int, device: torch.device | str | None = None) -> torch.Tensor:
        """The (T, T) boolean mask this layer applies (``True`` = may attend), causal part included.

        >>> SparseAttention(8, 2, attention_type="local", window=1, causal=True).attention_mask(3).int()
        tensor([[1, 0, 0],
                [1, 1, 0],
                [0, 1, 1]], dtype=torch.int32)
        """
        return attention_mask(seq_len, self.attention_type, window=self.window, block_size=self.block_size,
                              causal=self.causal, device=device)

    def mask_density(self, seq_len: int | None = None) -> float:
        """Fraction of the T x T score entries that are computed (1.0 = dense attention); O(T), no mask is built.

        >>> SparseAttention(8, 2, attention_type="local", window=1).mask_density(4)
        0.625
        """
        t = self.seq_len if seq_len is None else seq_len
        t = _check_int("seq_len", t, 1) if t is not None else None
        if t is None:
            raise ConfigError("mask_density needs seq_len (this layer has no fixed seq_len); e.g. mask_density(128)")
        i = torch.arange(t, dtype=torch.float64)
        if self.attention_type == "local":
            lo = (i - self.window).clamp(min=0)
            hi = i if self.causal else (i + self.window).clamp(max=t - 1)
            allowed = float((hi - lo + 1).sum())
        elif self.attention_type == "block":
            full, rest = divmod(t, self.block_size)
            sizes = [self.block_size] * full + ([rest] if rest else [])
            allowed = float(sum(b * (b + 1) // 2 if self.causal else b * b for b in sizes))
        else:
            allowed = t * (t + 1) / 2 if self.causal else float(t * t)
        return allowed / (t * t)

    @property
    def num_params(self) -> int:
        """Number of trainable parameters (projections)."""
        return sum(p.numel() for p in self.parameters())

    # ----------------------------------------------------------------------------------------------- forward
    def _to_tokens(self, x: torch.Tensor) -> tuple[torch.Tensor, bool]:
        """(B, T, E) stays; flat (B, T*E) becomes (B, T, E). Returns the tokens and whether the input was flat."""
        e = self.embed_dim
        if x.dim() == 3:
            if x.shape[-1] != e:
                raise ShapeError(
                    f"SparseAttention expects (batch, seq_len, embed_dim={e}); got shape {tuple(x.shape)}. "
                    "Project the features to embed_dim first or change embed_dim"
                )
            if self.seq_len is not None and x.shape[1] != self.seq_len:
                raise ShapeError(f"SparseAttention was built for seq_len={self.seq_len}; got input of shape "
                                 f"{tuple(x.shape)} (seq_len={x.shape[1]}). Pass seq_len=None to accept any length")
            return x, False
        if x.dim() == 2:
            width = x.shape[1]
            if self.seq_len is not None and width != self.seq_len * e:
                raise ShapeError(
                    f"SparseAttention with seq_len={self.seq_len}, embed_dim={e} expects flat input of width "
                    f"seq_len * embed_dim = {self.seq_len * e}; got shape {tuple(x.shape)}"
                )
            if width == 0 or width % e:
                raise ShapeError(
                    f"SparseAttention got 2-D input of width {width}, which is not a whole number of tokens of "
                    f"embed_dim={e}; pass (batch, seq_len, embed_dim) or flat (batch, seq_len * embed_dim) features"
                )
            return x.reshape(x.shape[0], width // e, e), True
        raise ShapeError(
            f"SparseAttention expects (batch, seq_len, embed_dim={e}) or flat (batch, seq_len * embed_dim) input; "
            f"got a {x.dim()}-D tensor of shape {tuple(x.shape)}"
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` (B, T, E) → (B, T, E), or flat (B, T*E) → (B, T*E)."""
        tokens, flat = self._to_tokens(x)
        b, t, e = tokens.shape
        # (B, T, 3E) → 3 x (B, H, T, D): one GEMM for q, k, v, then a view per head (no copies before SDPA).
        q, k, v = self.in_proj(tokens).view(b, t, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        mask, layout = self._mask(t, tokens.device)
        dropout = self.dropout if self.training else 0.0
        if layout is not None:  # only the tiles the mask touches
            out = block_sparse_attention(q, k, v, layout, dropout_p=dropout)  # (B, H, T, D)
        else:
            is_causal = self.causal and mask is None and t > 1
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout,
                                                 is_causal=is_causal)  # (B, H, T, D)
        out = self.out_proj(out.transpose(1, 2).reshape(b, t, e))  # (B, T, E)
        return out.reshape(b, t * e) if flat else out

    def get_config(self) -> dict[str, object]:
        """Constructor arguments that rebuild this layer (weights come from the state dict).

        >>> SparseAttention(8, 2, attention_type="block", block_size=4).get_config()["attention_type"]
        'block'
        """
        return {
            "embed_dim": self.embed_dim,
            "num_heads": self.num_heads,
            "attention_type": self.attention_type,
            "window": self.window,
            "block_size": self.block_size,
            "dropout": self.dropout,
            "causal": self.causal,
            "bias": self.in_proj.bias is not None,
            "seq_len": self.seq_len,
        }

    def extra_repr(self) -> str:
        span = {"local": f", window={self.window}", "block": f", block_size={self.block_size}", "full": ""}
        return (
            f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, attention_type={self.attention_type!r}"
            f"{span[self.attention_type]}, causal={self.causal}, dropout={self.dropout}"
        )

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        state["_mask_cache"] = OrderedDict()  # derived per device; rebuilt on demand
        return state

