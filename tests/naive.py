"""Independent references, written as directly as possible: Python loops over pixels.

Nothing here imports tinygrad_conv. ``SeedConv`` re-implements the seed blog post's
algorithm (valid 2-D convolution, backward by zero insertion, padding and a rotated
kernel), but with the update moved out of backward and without its assertion that
the stride divides the input.
"""

from __future__ import annotations

import numpy as np


def loop_conv2d(x, w, b=None, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1)):
    """Direct-loop cross-correlation of x (N, C, H, W) with w (O, C, kh, kw)."""
    top, bottom, left, right = padding
    n, c, h, wd = x.shape
    xp = np.zeros((n, c, h + top + bottom, wd + left + right))
    xp[:, :, top : top + h, left : left + wd] = x
    o, _, kh, kw = w.shape
    (sh, sw), (dh, dw) = stride, dilation
    ho = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    wo = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((n, o, ho, wo))
    for ni in range(n):
        for oi in range(o):
            for u in range(ho):
                for v in range(wo):
                    total = 0.0 if b is None else b[oi]
                    for ci in range(c):
                        for i in range(kh):
                            for j in range(kw):
                                total += w[oi, ci, i, j] * xp[ni, ci, u * sh + i * dh, v * sw + j * dw]
                    y[ni, oi, u, v] = total
    return y


def loop_conv2d_grads(x, w, g, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1)):
    """(dx, dw, db) of sum(g * conv(x, w)) by accumulating every multiply-add's two partials."""
    top, bottom, left, right = padding
    n, c, h, wd = x.shape
    xp = np.zeros((n, c, h + top + bottom, wd + left + right))
    xp[:, :, top : top + h, left : left + wd] = x
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    o, _, kh, kw = w.shape
    (sh, sw), (dh, dwl) = stride, dilation
    for ni in range(n):
        for oi in range(o):
            for u in range(g.shape[2]):
                for v in range(g.shape[3]):
                    for ci in range(c):
                        for i in range(kh):
                            for j in range(kw):
                                r, s = u * sh + i * dh, v * sw + j * dwl
                                dxp[ni, ci, r, s] += g[ni, oi, u, v] * w[oi, ci, i, j]
                                dw[oi, ci, i, j] += g[ni, oi, u, v] * xp[ni, ci, r, s]
    dx = dxp[:, :, top : top + h, left : left + wd]
    return dx, dw, g.sum(axis=(0, 2, 3))


# --- the seed's algorithm, 2-D only --------------------------------------------------
def seed_convolution(x, kernel, stride):
    """Valid 2-D cross-correlation with four nested loops; trailing rows that do not fit are skipped."""
    kh, kw = kernel.shape
    ho, wo = (x.shape[0] - kh) // stride + 1, (x.shape[1] - kw) // stride + 1
    result = np.zeros((ho, wo))
    for u in range(ho):
        for v in range(wo):
            acc = 0.0
            for p in range(kh):
                for q in range(kw):
                    acc += x[u * stride + p, v * stride + q] * kernel[p, q]
            result[u, v] = acc
    return result


def seed_insert_zeros(e, gap):
    out = np.zeros(((e.shape[0] - 1) * (gap + 1) + 1, (e.shape[1] - 1) * (gap + 1) + 1))
    for i in range(e.shape[0]):
        for j in range(e.shape[1]):
            out[i * (gap + 1), j * (gap + 1)] = e[i, j]
    return out


def seed_pad(x, top, bottom, left, right):
    out = np.zeros((x.shape[0] + top + bottom, x.shape[1] + left + right))
    out[top : top + x.shape[0], left : left + x.shape[1]] = x
    return out


class SeedConv:
    """One seed conv layer: a square kernel, a scalar bias and a stride."""

    def __init__(self, kernel, bias, stride):
        self.kernel, self.bias, self.stride = np.array(kernel, float), float(bias), stride

    def forward(self, x):
        self.x = x
        return seed_convolution(x, self.kernel, self.stride) + self.bias

    def backward(self, error):
        """(input error, kernel gradient, bias gradient); the caller updates the parameters."""
        k = self.kernel.shape[0]
        inserted = seed_insert_zeros(error, self.stride - 1)
        unused_rows = self.x.shape[0] - (inserted.shape[0] + k - 1)
        unused_cols = self.x.shape[1] - (inserted.shape[1] + k - 1)
        padded = seed_pad(inserted, k - 1, k - 1 + unused_rows, k - 1, k - 1 + unused_cols)
        input_error = seed_convolution(padded, np.rot90(self.kernel, 2), 1)
        kernel_grad = seed_convolution(self.x, inserted, 1)[:k, :k]
        return input_error, kernel_grad, float(np.sum(error))
