"""numpy-only conv2d kernels behind a small seam, and the settings that choose among them.

The seam, on arrays and a ``Geometry`` (checked shapes, padding, output size):

    y, saved = conv2d_forward(x, w, b, geom)
    dx, dw, db = conv2d_backward(g, saved, geom, needs_grad)

Nothing here imports the Tensor, the registry or the conv op: only numpy, the standard
library and (optionally) threadpoolctl. The modules, one job each:

- ``settings``: the route (``use``, ``get_route``), the tuning thresholds (``tuning``), the defaults;
- ``geometry``: the shape arithmetic;
- ``im2col``: im2col, col2im and their variants;
- ``plain``: the "im2col" route; ``blocked``: the "fast" route; ``grouped``: groups > 1 on either route;
- ``buffers``: the bounded pool of scratch arrays (``clear_buffers``, ``set_buffer_reuse``, ``set_buffer_cap``);
- ``threads``: the split of a batch across threads (``set_num_threads``), BLAS on one thread;
- ``products``: ``matmul`` on those threads (the matmul op's GEMMs).

The "literal" route is the seed's algorithm in ``tinygrad_conv/conv.py``; the conv op reads
``get_route()`` and runs it there.
"""

from __future__ import annotations

import numpy as np

from . import blocked, grouped, plain
from .buffers import buffer_stats, clear_buffers, set_buffer_cap, set_buffer_reuse
from .geometry import Geometry
from .settings import ROUTES, Tuning, get_route, get_tuning, tuning, use
from .products import BLAS_THREADED_MIN
from .threads import blas_one_thread, get_num_threads, set_num_threads

__all__ = [
    "ROUTES", "Geometry", "Tuning", "buffer_stats", "clear_buffers", "conv2d_backward", "conv2d_forward",
    "conv2d_input_grad",
    "get_num_threads", "get_route", "get_tuning", "set_buffer_cap", "set_buffer_reuse", "set_num_threads", "tuning",
    "use",
]


def conv2d_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, geom: Geometry,
                   route: str | None = None) -> tuple[np.ndarray, tuple]:
    """y = conv2d(x, w) + b on the "fast" or "im2col" route.

    Args:
        x: the input, of shape ``geom.x_shape``.
        w: the weight, of shape ``geom.w_shape``.
        b: the bias, of shape ``geom.b_shape``, or None.
        geom: the checked geometry of this call.
        route: "fast" or "im2col"; None reads ``get_route()`` (where "literal" means "fast":
            the literal route lives in the conv op).

    Returns:
        (y of shape ``geom.y_shape``, what ``conv2d_backward`` needs).

    Raises:
        ValueError: for an unknown route.
    """
    route = _kernel_route(route)
    if _blas_may_thread(geom, route):  # on one BLAS thread: a large conv is split across ours instead
        with blas_one_thread():
            return _forward(x, w, b, geom, route)
    return _forward(x, w, b, geom, route)


def _forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, geom: Geometry, route: str
             ) -> tuple[np.ndarray, tuple]:
    if geom.groups > 1:
        y, saved = grouped.forward(x, w, b, geom, get_tuning())
        return y, ("grouped", saved)
    if route == "im2col":
        y, saved = plain.forward(x, w, b, geom)
    else:
        y, saved = blocked.forward(x, w, b, geom, get_tuning())
    return y, (route, saved)


def conv2d_backward(g: np.ndarray, saved: tuple, geom: Geometry, needs_grad: tuple[bool, bool, bool]
                    ) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """(dx, dw, db) for the error ``g`` (of shape ``geom.y_shape``), None where ``needs_grad`` is False.

    Runs the route that made ``saved``; it never writes into ``g``.
    """
    if _blas_may_thread(geom, saved[0]):
        with blas_one_thread():
            return _backward(g, saved, geom, needs_grad)
    return _backward(g, saved, geom, needs_grad)


def _backward(g: np.ndarray, saved: tuple, geom: Geometry, needs_grad: tuple[bool, bool, bool]
              ) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    route, inner = saved
    if route == "grouped":
        return grouped.backward(g, inner, geom, needs_grad, get_tuning())
    if route == "im2col":
        dx, dw, db = plain.backward(g, inner, geom, needs_grad)
    else:
        dx, dw, db = blocked.backward(g, inner, geom, needs_grad, get_tuning())
    return dx, dw, None if db is None else db.reshape(geom.b_shape)


def conv2d_input_grad(g: np.ndarray, w: np.ndarray, geom: Geometry, route: str | None = None) -> np.ndarray:
    """dL/dx of conv2d for the error ``g`` alone, without the forward's input: conv_transpose2d's forward.

    Args:
        g: the error, of shape ``geom.y_shape``.
        w: the weight, of shape ``geom.w_shape``.
        geom: the geometry of the conv2d whose input gradient this is.
        route: as for ``conv2d_forward``.

    Returns:
        dx, of shape ``geom.x_shape``.
    """
    return conv2d_backward(g, _weights_only(w, geom, _kernel_route(route)), geom, (True, False, False))[0]


def _weights_only(w: np.ndarray, geom: Geometry, route: str) -> tuple:
    """What a forward would have saved, as far as the input gradient reads it: the weight."""
    if geom.groups > 1:
        return "grouped", (grouped.uses_direct(geom, get_tuning()), None, w)
    return route, ((None, w) if route == "im2col" else (None, None, w))


def _blas_may_thread(geom: Geometry, route: str) -> bool:
    """Whether one of this conv's GEMMs is large enough for OpenBLAS to run it on several threads.

    The blocked and grouped routes multiply one image at a time; the "im2col" route and the
    literal input gradient of a tiny conv multiply the whole batch at once. Opening a
    one-thread region costs about 20 us, so convs whose GEMMs BLAS runs on one thread anyway
    skip it.
    """
    multiply_adds = geom.gemm_flops // 2
    if route != "im2col" and geom.literal_dx_size > get_tuning().literal_dx_max:
        multiply_adds //= max(1, geom.n)
    return multiply_adds >= BLAS_THREADED_MIN


def _kernel_route(route: str | None) -> str:
    route = get_route() if route is None else route
    if route not in ROUTES:
        raise ValueError(f"route must be one of {ROUTES}, got {route!r}")
    return "fast" if route == "literal" else route
