"""The saved form of a :class:`~tesla_lab.nn.SparseLinear`: only the kept weights plus a 1-bit-per-entry mask.

At ``COMPACT_MIN`` (50 %) sparsity or more, a layer's ``state_dict`` holds

- ``weight_values``: the kept weights, (nnz,), in row-major order (``weight[mask]``);
- ``mask_bits``: the mask packed 8 entries per byte, (ceil(out * in / 8),) ``uint8``, most significant bit first;
- ``bias`` as usual,

instead of the dense ``weight`` and the one-byte-per-entry bool ``mask``. A 90 % sparse float32 layer then saves
``0.1 * 4 + 1/8`` = 0.525 bytes per weight instead of 5 (weight + mask): about 0.13x a dense ``nn.Linear``. A
bitmask beats index lists (CSR/COO) above ~3 % density, where pruned models live: CSR with int32 column indices
needs 8 bytes per kept weight. Loading accepts both forms (the dense one is what older versions saved), so
``load_state_dict`` reads old checkpoints and the compact ones exactly.

``state_dict(keep_vars=True)`` keeps the dense form: callers asking for the live parameters write into them.

>>> import torch
>>> mask = torch.tensor([[True, False, True], [False, False, True]])
>>> bits = pack_mask(mask)
>>> bits, bool(torch.equal(unpack_mask(bits, (2, 3)), mask))
(tensor([164], dtype=torch.uint8), True)
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from tesla_lab.errors import ShapeError

__all__ = ["COMPACT_MIN", "pack_mask", "unpack_mask", "saved_bytes"]

COMPACT_MIN = 0.5
"""Sparsity at or above which a SparseLinear saves only its kept weights and a bitmask."""

_SHIFTS = (7, 6, 5, 4, 3, 2, 1, 0)


def pack_mask(mask: torch.Tensor) -> torch.Tensor:
    """A bool tensor as ``uint8`` bytes, 8 entries each (row-major, most significant bit first; zero-padded).

    >>> pack_mask(torch.tensor([True] * 9))
    tensor([255, 128], dtype=torch.uint8)
    """
    flat = mask.reshape(-1).to(torch.uint8)
    pad = (-flat.numel()) % 8
    if pad:
        flat = torch.cat([flat, flat.new_zeros(pad)])
    shifts = torch.tensor(_SHIFTS, dtype=torch.uint8, device=mask.device)
    return (flat.view(-1, 8) << shifts).sum(dim=1, dtype=torch.uint8)  # (ceil(n / 8),)


def unpack_mask(bits: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """Inverse of :func:`pack_mask`: the bool tensor of ``shape``.

    >>> unpack_mask(torch.tensor([255, 128], dtype=torch.uint8), (9,)).all().item()
    True
    """
    numel = 1
    for n in shape:
        numel *= n
    shifts = torch.tensor(_SHIFTS, dtype=torch.uint8, device=bits.device)
    flat = ((bits.reshape(-1, 1) >> shifts) & 1).reshape(-1)  # (8 * bytes,)
    return flat[:numel].bool().view(shape)


def saved_bytes(numel: int, nnz: int, elem: int, bias_numel: int) -> int:
    """Tensor bytes of a SparseLinear ``state_dict``: compact at ``COMPACT_MIN`` sparsity, else dense weight + mask.

    >>> saved_bytes(1024 * 1024, 104858, 4, 1024)  # 90 % sparse 1024 x 1024 float32
    554600
    """
    if numel and 1.0 - nnz / numel >= COMPACT_MIN:
        body = nnz * elem + (numel + 7) // 8
    else:
        body = numel * elem + numel  # weight + one byte per mask entry
    return body + bias_numel * elem


def _plain(t: Any) -> bool:
    """An ordinary dense tensor with data (not a Parameter of keep_vars=True, DTensor, meta or fake tensor)."""
    return type(t) is torch.Tensor and t.layout == torch.strided and t.device.type != "meta"


def compact_state(module: nn.Module, state: dict[str, Any], prefix: str, local_metadata: dict[str, Any]) -> None:
    """``state_dict`` post-hook: replace ``weight``/``mask`` by ``weight_values``/``mask_bits`` when sparse enough."""
    wkey, mkey = prefix + "weight", prefix + "mask"
    weight, mask = state.get(wkey), state.get(mkey)
    if not (_plain(weight) and _plain(mask)) or mask.dtype != torch.bool:
        return
    numel = mask.numel()
    nnz = int(mask.sum())
    if numel == 0 or 1.0 - nnz / numel < COMPACT_MIN:
        return
    del state[wkey], state[mkey]
    state[prefix + "weight_values"] = weight[mask]  # (nnz,), row-major
    state[prefix + "mask_bits"] = pack_mask(mask)


def expand_state(module: nn.Module, state: dict[str, Any], prefix: str, local_metadata: dict[str, Any],
                 strict: bool, missing_keys: list[str], unexpected_keys: list[str], error_msgs: list[str]) -> None:
    """``load_state_dict`` pre-hook: turn a compact entry back into the dense ``weight`` and ``mask``."""
    vkey, bkey = prefix + "weight_values", prefix + "mask_bits"
    if vkey not in state and bkey not in state:
        return  # the dense form (older checkpoints, keep_vars=True, low sparsity): loads as it is
    if vkey not in state or bkey not in state:
        raise ShapeError(f"SparseLinear state at {prefix or '<root>'!r} has only one of weight_values/mask_bits; a "
                         "compact checkpoint needs both. Was the file edited or cut short? Re-save it")
    values, bits = state.pop(vkey), state.pop(bkey)
    shape = tuple(module.weight.shape)  # (out, in)
    numel = shape[0] * shape[1]
    if bits.numel() != (numel + 7) // 8:
        raise ShapeError(
            f"SparseLinear at {prefix or '<root>'!r} is {shape[1]} -> {shape[0]} ({numel} weights, "
            f"{(numel + 7) // 8} mask bytes) but the checkpoint's mask_bits has {bits.numel()} bytes; build the "
            "layer with the in/out features it was saved with"
        )
    mask = unpack_mask(bits, shape)
    nnz = int(mask.sum())
    if values.numel() != nnz:
        raise ShapeError(f"SparseLinear at {prefix or '<root>'!r}: the mask keeps {nnz} weights but weight_values "
                         f"holds {values.numel()}; the checkpoint is corrupt, re-save it")
    weight = values.new_zeros(shape)
    weight[mask] = values
    state[prefix + "weight"] = weight
    state[prefix + "mask"] = mask
