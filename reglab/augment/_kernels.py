"""The one kernel behind :func:`random_crop`, :func:`random_flip`, :func:`cutout` and their fusion.

On the CPU, where numba is installed, :func:`shift_flip_erase` hands the
batch to one compiled loop that writes each output pixel once
(:mod:`reglab.augment._compiled`). What follows is the stock PyTorch path: it
runs on a GPU, under autograd and without numba, and gives the same images.

All three transforms only move pixels or set them to zero: a crop with
padding :math:`p` translates each image by :math:`(\\delta_y, \\delta_x)` and
fills the uncovered border with 0, a flip reverses each row, cutout zeroes a
square. The least any kernel can do is read every pixel once and write it
once, as ``x.clone()`` does. :func:`shift_flip_erase` does any combination of
the three for all images at once in three steps, with indices of one entry
per image or per row, never one per pixel:

1. **Shift** (crop): in memory, pixel ``(c, i + δy, j + δx)`` of an image
   lies exactly :math:`s = \\delta_y W + \\delta_x` values after pixel
   ``(c, i, j)``. So the shifted image is one run of C·H·W values of the
   flat batch, starting :math:`s` values after the image's own start. One
   ``index_select`` over a *block view* of the batch (``as_strided``: block
   ``t`` is the C·H·W values from ``t`` on, shape (N·C·H·W - C·H·W + 1, C·H·W),
   strides (1, 1), no copy) copies one block per image, as fast as
   ``clone``. A pixel shifted in from outside the image comes from a
   neighbour in memory (the end of the previous row, another channel or
   image) and is zeroed in step 3. The first and the last image's blocks may
   begin before the batch or end after it: those two are copied again from
   a ring of four small images, (x_0, x_N-1, x_0, x_N-1).
2. **Mirror** (flip): a mirrored output row reads the shifted row from right
   to left, so the mirrored images' rows are reversed after the shift. On the
   CPU only those K images move: ``index_select`` them (K, C, H, W), ``flip``,
   ``index_copy_`` back. On an accelerator, where asking which images they
   are would make the host wait, one ``torch.where`` between the batch and
   its flip.
3. **Zero** (crop border and cutout): one in-place multiply by a 0/1 mask of
   shape (N, 1, H, W), broadcast over channels, written by one comparison of
   a score per row with a score per column (:func:`_keep_mask`).

For 500 CIFAR images (3×32×32 float32, 6.1 MB) that is 6.1 MB copied by the
shift, the mirrored half (3 MB) copied out, reversed and copied back, and one
multiply of the batch by a 2 MB mask: about three copies' worth of traffic,
plus small index and mask arithmetic. The mask is a multiply, so, as before,
a zeroed pixel whose source (or neighbour) is inf or NaN becomes NaN; finite
batches give exactly the values of padding and cropping. Under autograd (and
for batches of one or two images, or shifts longer than an image) one gather
with clamped positions, :func:`_gather_clamped`, does the shift and the mirror
instead.
"""

from __future__ import annotations

import torch

from reglab.augment import _compiled
from reglab.augment._compiled import Square  # top (N, 1), left (N, 1), side s


def shift_flip_erase(
    x: torch.Tensor,
    padding: int,
    dy: torch.Tensor | None,
    dx: torch.Tensor | None,
    mirror: torch.Tensor | None,
    square: Square | None,
) -> torch.Tensor:
    """Translate by ``(dy, dx)`` with zero fill, mirror where ``mirror``, then zero one square per image.

    .. math::
        \\tilde x_{c,i,j} = x_{c,\\, i + \\delta_y,\\, \\mathrm{col}(j)}
        \\; \\mathbb 1[\\text{source inside the image}]
        \\; \\mathbb 1[(i, j) \\notin \\text{square}], \\qquad
        \\mathrm{col}(j) = \\delta_x + j \\text{ or } \\delta_x + W - 1 - j

    Args:
        x (Tensor): float images (N, C, H, W); not modified.
        padding (int): p, with every shift in [-p, p]; 0 when ``dy`` and ``dx`` are None.
        dy, dx (Tensor or None): (N, 1) int64 shifts, both given or both None.
        mirror (Tensor or None): (N, 1) bool, True where the image is flipped.
        square (tuple or None): ``(top, left, s)``: (N, 1) int64 first row and
            column of each square (may be negative) and its side.

    Returns:
        A new contiguous tensor (N, C, H, W).

    Example (the middle image of three takes the block copy; one row down
    and one column left, then mirrored, then a 2×2 square at (2, 0)):
        >>> x = torch.arange(1.0, 17.0).view(1, 1, 4, 4).repeat(3, 1, 1, 1)
        >>> dy, dx = torch.tensor([[0], [1], [0]]), torch.tensor([[0], [-1], [0]])
        >>> mirror = torch.tensor([[False], [True], [False]])
        >>> square = (torch.tensor([[0], [2], [0]]), torch.zeros(3, 1, dtype=torch.long), 2)
        >>> shift_flip_erase(x, 1, dy, dx, mirror, square)[1, 0]
        tensor([[ 7.,  6.,  5.,  0.],
                [11., 10.,  9.,  0.],
                [ 0.,  0., 13.,  0.],
                [ 0.,  0.,  0.,  0.]])
    """
    n, c, h, w = x.shape
    autograd = x.requires_grad and torch.is_grad_enabled()  # _mirror copies bytes as other words: not differentiable
    if not autograd and _compiled.usable(x):  # on the CPU with numba: one compiled pass, the same images
        return _compiled.crop_flip_erase(x, dy, dx, mirror, square)
    if dy is None and mirror is None:  # nothing moves: cutout alone, or nothing at all
        return x.clone() if square is None else x * _keep_mask(x, dy, dx, mirror, square)
    if autograd or (dy is not None and (n <= 2 or padding * (w + 1) > c * h * w)):
        j = torch.arange(w, device=x.device)  # (W,)
        cols = j if mirror is None else torch.where(mirror, w - 1 - j, j)  # (N, W) or (W,): mirrored rows read backwards
        rows = torch.arange(h, device=x.device) + (0 if dy is None else dy)  # (N, H) or (H,)
        out = _gather_clamped(x, rows.expand(n, h), (cols if dx is None else dx + cols).expand(n, w))
    else:
        out = x.clone(memory_format=torch.contiguous_format) if dy is None else _shift(x, dy, dx)
        if mirror is not None:
            out = _mirror(out, mirror)
    if dy is None and square is None:
        return out  # a flip alone zeroes nothing
    return out.mul_(_keep_mask(x, dy, dx, mirror, square))  # (N, 1, H, W) over C


def _shift(x: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor) -> torch.Tensor:
    """``out[n, c, i, j] = x[n, c, i + dy[n], j + dx[n]]`` wherever that source is inside the image.

    Elsewhere ``out`` holds some other value of ``x``, for the mask to zero.
    Each image is one block copy (see the module's docstring). Shapes: x
    (N, C, H, W) with N >= 3 and :math:`|\\delta_y W + \\delta_x| \\le C H W`;
    dy, dx (N, 1).
    """
    n, c, h, w = x.shape
    chw = c * h * w
    x = x.contiguous()
    shift = (dy * w + dx).view(n)  # (N,): how far each image's block starts after the image
    flat = x.view(-1)  # (N·C·H·W,)
    blocks = flat.as_strided((flat.numel() - chw + 1, chw), (1, 1))  # block t: flat[t : t + C·H·W], no copy
    starts = torch.arange(0, n * chw, chw, device=x.device) + shift  # (N,)
    out = blocks.index_select(0, starts.clamp(0, blocks.shape[0] - 1)).view(n, c, h, w)  # one memcpy per image
    # Images 0 and N-1, whose blocks may leave the batch: copied again from a ring of four small images,
    # (x_0, x_N-1, x_0, x_N-1), where a block starting chw·2 (image 0) or chw (image N-1) values in plus
    # its shift stays inside.
    ends = slice(None, None, n - 1)  # images 0 and N-1, as a view
    ring = torch.cat([x[:1], x[-1:], x[:1], x[-1:]]).view(-1)  # (4·C·H·W,)
    ring_blocks = ring.as_strided((3 * chw + 1, chw), (1, 1))
    out[ends] = ring_blocks.index_select(0, shift[ends] + torch.tensor([2 * chw, chw], device=x.device)).view(2, c, h, w)
    return out


def _mirror(out: torch.Tensor, mirror: torch.Tensor) -> torch.Tensor:
    """``out`` with the rows of the images where ``mirror`` (N, 1) is True reversed; in place on the CPU."""
    if out.device.type != "cpu":  # on an accelerator: no wait for the host, at the cost of flipping every image
        return torch.where(mirror.view(-1, 1, 1, 1), out.flip(-1), out)  # (N, 1, 1, 1) over C, H, W
    n, c, h, w = out.shape
    flipped = mirror.view(-1).nonzero().view(-1)  # (K,) the mirrored images
    copies = out.index_select(0, flipped).flip(-1)  # (K, C, H, W): copied out, rows reversed
    # index_copy_ moves one element at a time on the CPU: move the images as the widest words that divide them
    # (16-byte complex128 for float32 CIFAR images: four values per step), an exact copy of their bytes.
    size = c * h * w * out.element_size()  # bytes per image
    words = ((torch.complex128, 16), (torch.float64, 8), (torch.float32, 4), (torch.int16, 2), (torch.uint8, 1))
    word = next(dtype for dtype, nbytes in words if size % nbytes == 0)
    out.view(n, c * h * w).view(word).index_copy_(0, flipped, copies.view(len(copies), c * h * w).view(word))
    return out


def _gather_clamped(x: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """``x[n, c, clamp(rows[n, i]), clamp(cols[n, j])]`` through one flat index per pixel.

    The general path (autograd, tiny batches, very large shifts): an index of
    shape (N, 1, H·W), broadcast over channels. Shapes: x (N, C, H, W); rows
    (N, H); cols (N, W).
    """
    m, c, h, w = x.shape
    source = rows.clamp(0, h - 1)[:, :, None] * w + cols.clamp(0, w - 1)[:, None, :]  # (N, H, W)
    index = source.view(m, 1, h * w).expand(m, c, h * w)  # stride 0 over C
    return x.reshape(m, c, h * w).gather(2, index).view(m, c, h, w)


def _keep_mask(like: torch.Tensor, dy: torch.Tensor | None, dx: torch.Tensor | None,
               mirror: torch.Tensor | None, square: Square | None) -> torch.Tensor:
    """The (N, 1, H, W) 0/1 mask, in ``like``'s dtype: 1 where a pixel keeps its value.

    Output row i has its source inside the image for i in :math:`[-\\delta_y, H - \\delta_y)`,
    column j for j in :math:`[-\\delta_x, W - \\delta_x)` (:math:`[\\delta_x, W + \\delta_x)`
    when mirrored), and the square covers rows :math:`[t, t + s)` and columns
    :math:`[l, l + s)`: four intervals with indicators :math:`r_i, a_i, c_j, b_j`.
    Pixel (i, j) keeps its value if :math:`r_i c_j (1 - a_i b_j) = 1`, which is
    one comparison of a row score with a column score:

    .. math::
        m_{ij} = \\mathbb 1[u_i < v_j], \\qquad u_i = 4 - 4 r_i + a_i, \\quad v_j = -2 + 4 c_j - b_j

    (a row outside the image scores at least 4 and a column outside at most
    -2; inside, :math:`a_i < 2 - b_j` fails only in the square). The scores are
    sums of steps :math:`S_k(i) = \\mathbb 1[i \\ge k]`, as an interval's
    indicator is :math:`S_{lo} - S_{hi}`: ``index_select`` copies each image's
    eight weighted steps (N, 8, P) from a small table, P = max(H, W), a sum
    gives the scores (N, 2, P), and one broadcast ``lt`` writes the mask. All
    values are small integers, exact in any float type.
    """
    n, _, h, w = like.shape
    zero = torch.zeros((n, 1), dtype=torch.long, device=like.device)
    row_lo = zero if dy is None else -dy  # (N, 1)
    col_lo = zero if dx is None else -dx if mirror is None else torch.where(mirror, dx, -dx)
    top, left, size = (zero, zero, 0) if square is None else square
    lo = torch.cat([row_lo, top, col_lo, left], 1)  # (N, 4): where the rows r, a and the columns c, b begin
    p = max(h, w)
    hi = lo + torch.tensor([h, size, w, size], device=like.device)  # (N, 4): where they end
    ends = torch.stack([lo, hi], 2).view(n, 8).clamp_(0, p)  # (N, 8): lo, hi of r, a, c, b
    weight = torch.tensor([-4.0, 4.0, 1.0, -1.0, 4.0, -4.0, -1.0, 1.0], dtype=like.dtype, device=like.device)
    steps = torch.ones((8, p + 1, p), dtype=like.dtype, device=like.device).triu_() * weight[:, None, None]
    rows = ends + torch.arange(0, 8 * (p + 1), p + 1, device=like.device)  # (N, 8): bound k uses table k
    picked = steps.view(8 * (p + 1), p).index_select(0, rows.view(-1)).view(n, 2, 4, p)  # weighted S_lo, S_hi
    score = picked.sum(2) + torch.tensor([[4.0], [-2.0]], dtype=like.dtype, device=like.device)  # (N, 2, P): u, v
    keep = torch.empty((n, 1, h, w), dtype=like.dtype, device=like.device)
    return torch.lt(score[:, 0, None, :h, None], score[:, 1, None, None, :w], out=keep)  # (N, 1, H, W)
