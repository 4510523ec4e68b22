"""The shape arithmetic of one conv2d call: padded size, output size, stride phases.

A ``Geometry`` is built from arguments that were already checked (``tinygrad_conv/_checks.py``
does that before the seam); it only computes. Per axis, with the input zero-padded to
Hp, stride s, dilation d and a k-tap kernel:

    H' = floor((Hp - d*(k-1) - 1) / s) + 1
"""

from __future__ import annotations

Pair = tuple[int, int]
Padding4 = tuple[int, int, int, int]  # top, bottom, left, right


def out_size(padded: int, kernel: int, stride: int, dilation: int) -> int:
    """Output length along one axis of a valid correlation of an already padded input."""
    return (padded - dilation * (kernel - 1) - 1) // stride + 1


def phase_shape(xp_hw: Pair, stride: Pair) -> Pair:
    """(Hq, Wq): the grid of one stride phase of a padded (Hp, Wp) input, ceil(Hp/sh) x ceil(Wp/sw)."""
    return -(-xp_hw[0] // stride[0]), -(-xp_hw[1] // stride[1])


class Geometry:
    """The checked shapes of one conv2d call and everything the kernels derive from them.

    Inputs may be 2-D (H, W) with a (kh, kw) kernel, 3-D (C, H, W) or 4-D (N, C, H, W)
    with an (O, C/groups, kh, kw) kernel; the kernels compute on the 4-D form and hand
    results back in the caller's layout (``x_shape``, ``w_shape``, ``b_shape``, ``y_shape``).

    Args:
        x_shape: the input's shape.
        w_shape: the weight's shape.
        b_shape: the bias's shape, or None.
        stride: (sh, sw), each >= 1.
        pads: (top, bottom, left, right), each >= 0.
        dilation: (dh, dw), each >= 1.
        groups: channel groups; C and O are multiples of it.
    """

    __slots__ = ("b_shape", "c", "dilation", "gemm_flops", "groups", "kernel", "kernel_size", "literal_dx_size", "n",
                 "o", "out_hw", "pads", "phase_hw", "phase_size", "span", "stride", "w4_shape", "w_shape",
                 "x4_shape", "x_shape", "xp_shape", "y4_shape", "y_shape")

    def __init__(self, x_shape: tuple, w_shape: tuple, b_shape: tuple | None, stride: Pair, pads: Padding4,
                 dilation: Pair, groups: int = 1):
        self.x_shape, self.w_shape, self.b_shape = tuple(x_shape), tuple(w_shape), b_shape
        self.stride, self.pads, self.dilation, self.groups = stride, pads, dilation, groups
        self.x4_shape = (1,) * (4 - len(x_shape)) + self.x_shape
        self.w4_shape = (1, 1) * (len(w_shape) == 2) + self.w_shape
        self.n, self.c, h, w = self.x4_shape
        self.o, _, kh, kw = self.w4_shape
        self.kernel = (kh, kw)
        top, bottom, left, right = pads
        self.xp_shape = (self.n, self.c, h + top + bottom, w + left + right)
        self.out_hw = (out_size(self.xp_shape[2], kh, stride[0], dilation[0]),
                       out_size(self.xp_shape[3], kw, stride[1], dilation[1]))
        self.y4_shape = (self.n, self.o) + self.out_hw
        self.y_shape = self.y4_shape[4 - len(x_shape):]
        self.phase_hw = phase_shape(self.xp_shape[2:], stride)
        self.phase_size = self.phase_hw[0] * self.phase_hw[1]
        self.kernel_size = self.w4_shape[1] * kh * kw  # one output pixel's taps: (C/groups)*kh*kw
        self.span = (self.out_hw[0] - 1) * self.phase_hw[1] + self.out_hw[1]  # of a phase grid, up to the last error
        self.literal_dx_size = self.n * self.o * kh * kw * self.xp_shape[2] * self.xp_shape[3]
        self.gemm_flops = 2 * self.n * self.o * self.kernel_size * self.out_hw[0] * self.out_hw[1]

    def __repr__(self) -> str:
        return (f"Geometry(x {self.x_shape}, weight {self.w_shape}, stride {self.stride}, pads {self.pads}, "
                f"dilation {self.dilation}, groups {self.groups} -> y {self.y_shape})")
