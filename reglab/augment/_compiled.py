"""Crop, flip and cutout in one compiled pass over the batch, on the CPU (numba).

:func:`~reglab.augment._kernels.shift_flip_erase` moves the pixels with stock
PyTorch operations: a block copy per image, the mirrored images copied out,
reversed and copied back, then a multiply by a 0/1 mask. Each of these is a
pass over the batch in memory. The loop below, :func:`crop_flip_erase_loop`,
writes every output pixel once, straight from its source:

.. math::
    \\tilde x_{n,c,i,j} = \\begin{cases}
        x_{n,c,\\, i + \\delta_y,\\, \\mathrm{col}(j)} & \\text{if that source is inside the image and } (i, j) \\notin \\text{square} \\\\
        0 & \\text{otherwise}
    \\end{cases}
    \\qquad \\mathrm{col}(j) = \\delta_x + j \\text{ or, mirrored, } \\delta_x + W - 1 - j

That is one read and one write of the batch, as ``x.clone()``. Plain Python
would take seconds for a batch; numba compiles the same function to machine
code on its first call (about a second, kept in numba's cache for later
processes). numba is optional (``pip install numba``, or ``reglab[fast]``).
Without it, with the environment variable ``REGLAB_NUMBA=0``, on a GPU, or
under autograd, the stock path runs instead and gives the same images.

The loop copies each pixel as an integer of the same width (int16 for float16
and bfloat16, int32 for float32, int64 for float64), so one compiled loop
serves every float type, bit for bit. A zeroed pixel is exactly +0.0 whatever
its source held; the stock path multiplies by 0, which turns a NaN or inf
source into NaN.
"""

from __future__ import annotations

import os

import numpy as np
import torch

Square = tuple[torch.Tensor, torch.Tensor, int]  # top (N, 1), left (N, 1), side s

_WORD = {2: torch.int16, 4: torch.int32, 8: torch.int64}  # bytes per pixel -> an integer type that wide
_compiled = None  # the compiled loop, made on first use; False when numba cannot be imported


def crop_flip_erase_loop(x, out, dy, dx, mirror, top, left, size):  # noqa: ANN001 (numpy arrays, for numba)
    """Write ``out`` (N, C, H, W) from ``x`` (N, C, H, W): shift by (dy, dx), mirror, zero the square.

    All arguments are NumPy arrays of one entry per image, shape (N,):
    ``dy``, ``dx``, ``top``, ``left`` int64, ``mirror`` bool; ``size`` is
    the side of the squares (0 for none).
    """
    n, c, h, w = x.shape
    for k in range(n):
        sy, sx, flip, t, l = dy[k], dx[k], mirror[k], top[k], left[k]
        for ch in range(c):
            for i in range(h):
                si = i + sy  # the source row
                if si < 0 or si >= h:
                    for j in range(w):
                        out[k, ch, i, j] = 0
                    continue
                cut = l if t <= i < t + size else w  # this row's columns [cut, cut + size) are in the square
                if flip:
                    for j in range(w):
                        sj = sx + w - 1 - j  # the source column, read from right to left
                        out[k, ch, i, j] = x[k, ch, si, sj] if 0 <= sj < w and not cut <= j < cut + size else 0
                else:
                    for j in range(w):
                        sj = sx + j
                        out[k, ch, i, j] = x[k, ch, si, sj] if 0 <= sj < w and not cut <= j < cut + size else 0


def _load():
    """The compiled loop, or None when numba is not installed."""
    global _compiled
    if _compiled is None:
        try:
            import numba
        except ImportError:
            _compiled = False
        else:
            try:  # cache the machine code on disk for the next process, where numba finds a writable place
                _compiled = numba.njit(nogil=True, cache=True)(crop_flip_erase_loop)
            except RuntimeError:  # no writable cache directory: compile in every process
                _compiled = numba.njit(nogil=True)(crop_flip_erase_loop)
    return _compiled or None


def usable(x: torch.Tensor) -> bool:
    """Whether :func:`crop_flip_erase` runs for ``x``: on the CPU, numba installed, ``REGLAB_NUMBA`` not 0."""
    return (x.device.type == "cpu" and x.element_size() in _WORD
            and os.environ.get("REGLAB_NUMBA", "1") != "0" and _load() is not None)


def crop_flip_erase(x: torch.Tensor, dy: torch.Tensor | None, dx: torch.Tensor | None,
                    mirror: torch.Tensor | None, square: Square | None) -> torch.Tensor:
    """The compiled loop on a CPU batch ``x`` (N, C, H, W), not modified; returns a new contiguous batch.

    The arguments mean what they mean for
    :func:`~reglab.augment._kernels.shift_flip_erase` (which calls this
    function, without its ``padding``).
    """
    n = x.shape[0]
    x = x.detach().contiguous()
    out = torch.empty_like(x, memory_format=torch.contiguous_format)
    zeros = np.zeros(n, dtype=np.int64)
    top, left, size = (zeros, zeros, 0) if square is None else (_per_image(square[0]), _per_image(square[1]), square[2])
    word = _WORD[x.element_size()]
    _load()(
        x.view(word).numpy(), out.view(word).numpy(),
        zeros if dy is None else _per_image(dy), zeros if dx is None else _per_image(dx),
        np.zeros(n, dtype=np.bool_) if mirror is None else mirror.reshape(n).numpy(),
        top, left, size,
    )
    return out


def _per_image(values: torch.Tensor) -> np.ndarray:
    """(N, 1) int64 tensor -> (N,) int64 NumPy array (no copy)."""
    return values.reshape(-1).numpy()
