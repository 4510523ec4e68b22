"""Activations: relu, sigmoid, tanh, leaky_relu, elu, gelu, silu, softplus, logsigmoid, hardtanh, relu6.

softmax and log_softmax along a dim are in ``softmax.py``.

Each follows torch.nn.functional: its arguments, and its gradient rule also at the kinks and at NaN.
The hot ones (relu, sigmoid, tanh) run in place on one array and keep float32; numpy's
``np.where`` and ``np.maximum(x, 0)`` are several times slower than the loops used here. Their
large results and gradients come from the kernels' buffer pool (``result_buffer``): a fresh
multi-MiB array faults in a page per 4 KiB every step, which took longer than the arithmetic.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import flag, real
from ..grad_mode import is_grad_enabled
from ..kernels.buffers import result_buffer
from ..registry import Sample, register_function, register_op
from ..tensor import Tensor
from ._erf import erfc
from ._samples import unary_samples
from .softmax import log_softmax, softmax  # noqa: F401 - also importable from here


def check_inplace(inplace: object, op_name: str) -> None:
    """PyTorch's ``inplace`` flag: accepted for porting, ignored (the result is always a new tensor)."""
    flag(inplace, "inplace", op_name)


# --- relu ------------------------------------------------------------------------
def _relu_forward(x, *, inplace):
    check_inplace(inplace, "relu")
    # On large arrays numpy's two-sided clip is its fastest loop (max against a scalar is ~3x slower);
    # on small ones clip's Python wrapper costs more than the arithmetic.
    out = result_buffer(("relu",), x.shape, x.dtype)
    if x.size > 4096:
        np.clip(x, x.dtype.type(0), x.dtype.type(np.inf), out=out)  # bounds of x's dtype: 25% faster
    else:
        np.maximum(x, 0, out=out)
    out += 0  # -0.0 + 0 is +0.0: relu never returns -0.0 (PyTorch's relu does not either)
    if not is_grad_enabled():  # inference: nothing is recorded, so the mask is not needed
        return out
    alive = result_buffer(("relu", "alive"), x.shape, np.bool_)
    np.less_equal(x, 0, out=alive)
    np.logical_not(alive, out=alive)  # NaN passes the gradient, as PyTorch's threshold_backward
    return out, alive


def _relu_vjp(g, alive, needs_grad, **attrs):
    return (np.multiply(g, alive, out=result_buffer(("relu", "grad"), g.shape, g.dtype)),)


relu = register_op("relu", _relu_forward, _relu_vjp, inputs=("input",), defaults={"inplace": False},
                   samples=unary_samples,
                   doc="``max(input, 0)`` elementwise; its gradient at 0 is 0. NaN stays NaN, and -0.0 becomes 0.0.\n\n"
                       "``inplace`` is accepted for porting and ignored: the result is always a new tensor.")


# --- sigmoid -----------------------------------------------------------------------
def _sigmoid_forward(x):
    # 1 / (1 + exp(-x)) is accurate for any x; exp overflows (to inf, giving 0) only where the result is below
    # the smallest float, as in PyTorch.
    out = np.negative(x, out=result_buffer(("sigmoid",), x.shape, x.dtype))
    with np.errstate(over="ignore"):
        np.exp(out, out=out)
    out += 1
    np.divide(1, out, out=out)
    return out, out


def _sigmoid_vjp(g, out, needs_grad):  # g * out * (1 - out)
    grad = np.subtract(1, out, out=result_buffer(("sigmoid", "grad"), out.shape, out.dtype))
    grad *= out
    grad *= g
    return (grad,)


sigmoid = register_op("sigmoid", _sigmoid_forward, _sigmoid_vjp, inputs=("input",), samples=unary_samples,
                      doc="``1 / (1 + exp(-input))``, computed stably: finite and warning-free for any input.")


# --- tanh ---------------------------------------------------------------------------
def _tanh_forward(x):
    out = np.tanh(x, out=result_buffer(("tanh",), x.shape, x.dtype))
    return out, out


def _tanh_vjp(g, out, needs_grad):  # g * (1 - out**2)
    grad = np.multiply(out, out, out=result_buffer(("tanh", "grad"), out.shape, out.dtype))
    np.subtract(1, grad, out=grad)
    grad *= g
    return (grad,)


tanh = register_op("tanh", _tanh_forward, _tanh_vjp, inputs=("input",), samples=unary_samples,
                   doc="The hyperbolic tangent, elementwise.")


# --- leaky_relu, elu ----------------------------------------------------------------------
def one_or(keep: np.ndarray, value: float, dtype: np.dtype) -> np.ndarray:
    """An array of ``dtype`` that is exactly 1 where ``keep`` holds and ``value`` elsewhere, without np.where (slow).

    For ``0 <= value <= 1``, ``value + (1 - value)`` rounds to exactly 1, so ``keep * (1 - value) + value`` is exact.
    """
    v = dtype.type(value)
    if not 0 <= v <= 1:
        return np.where(keep, dtype.type(1), v)
    factor = keep.astype(dtype)
    factor *= dtype.type(1) - v
    factor += v
    return factor


def _leaky_relu_forward(x, *, negative_slope, inplace):
    slope = real(negative_slope, "negative_slope", where="leaky_relu", finite=False)
    check_inplace(inplace, "leaky_relu")
    factor = one_or(x > 0, slope, x.dtype)  # the derivative, also at NaN (negative_slope) as PyTorch
    return x * factor, factor


def _leaky_relu_vjp(g, factor, needs_grad, **attrs):
    return (g * factor,)


def _slope_samples(rng: np.random.Generator) -> list[Sample]:
    (x,), (scalar,) = (s.inputs for s in unary_samples(rng))
    return [Sample((x,)), Sample((x,), {"negative_slope": 0.2}), Sample((x,), {"negative_slope": -1.5}),
            Sample((scalar,))]


leaky_relu = register_op(
    "leaky_relu", _leaky_relu_forward, _leaky_relu_vjp, inputs=("input",),
    defaults={"negative_slope": 0.01, "inplace": False}, samples=_slope_samples, method=False,
    doc="""``input`` where it is positive, ``negative_slope * input`` elsewhere, as ``torch.nn.functional.leaky_relu``.

    ``inplace`` is accepted for porting and ignored: the result is always a new tensor.
    """,
)


def _elu_forward(x, *, alpha, inplace):
    alpha = real(alpha, "alpha", where="elu", finite=False)
    check_inplace(inplace, "elu")
    em1 = np.asarray(np.clip(x, -np.inf, 0))
    np.expm1(em1, out=em1)  # exp(x) - 1 where x <= 0, 0 elsewhere
    out = em1 * alpha
    out += np.clip(x, 0, np.inf)
    return out, (em1, x > 0)


def _elu_vjp(g, saved, needs_grad, *, alpha, **attrs):
    em1, positive = saved
    grad = em1 + 1  # exp(x) where x <= 0, exactly 1 elsewhere
    if alpha != 1:
        grad *= one_or(positive, alpha, g.dtype)
    grad *= g
    return (grad,)


def _alpha_samples(rng: np.random.Generator) -> list[Sample]:
    (x,), (scalar,) = (s.inputs for s in unary_samples(rng))
    return [Sample((x,)), Sample((x,), {"alpha": 0.5}), Sample((x,), {"alpha": 2.5}), Sample((scalar,))]


elu = register_op(
    "elu", _elu_forward, _elu_vjp, inputs=("input",), defaults={"alpha": 1.0, "inplace": False},
    samples=_alpha_samples, method=False,
    doc="""``input`` where it is positive, ``alpha * (exp(input) - 1)`` elsewhere, as ``torch.nn.functional.elu``.

    ``inplace`` is accepted for porting and ignored.
    """,
)


# --- gelu --------------------------------------------------------------------------------------
_SQRT_HALF = 0.7071067811865476
_INV_SQRT_2PI = 0.3989422804014327
_TANH_BETA = 1.41421356237309504880 * 1.12837916709551257390 * 0.5  # sqrt(2 / pi), as PyTorch computes it
_TANH_KAPPA = 0.044715


def _gelu_forward(x, *, approximate):
    if approximate == "none":
        cdf = erfc(x * -_SQRT_HALF)
        cdf *= 0.5  # the normal distribution's cdf, accurate also far in the left tail
        with np.errstate(invalid="ignore"):  # -inf * 0 is NaN, as in PyTorch
            return x * cdf, (x, cdf)
    if approximate == "tanh":
        return _gelu_tanh(x)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


@np.errstate(invalid="ignore", over="ignore")  # inf * 0 and inf - inf at infinite inputs: NaN, as in PyTorch
def _gelu_tanh(x: np.ndarray) -> tuple[np.ndarray, tuple]:
    inner = x * x  # PyTorch's 0.5 x (1 + tanh(beta (x + kappa x^3))), in its order of operations
    inner *= x
    inner *= _TANH_KAPPA
    inner += x
    inner *= _TANH_BETA
    t = np.tanh(inner)
    out = t + 1
    out *= x
    out *= 0.5
    return out, (x, t)


def _gelu_vjp(g, saved, needs_grad, *, approximate):
    x, other = saved
    with np.errstate(invalid="ignore", over="ignore"):  # inf * 0 at infinite inputs: NaN, as in PyTorch
        grad = _gelu_derivative(x, other, approximate)
        grad *= g
    return (grad,)


def _gelu_derivative(x: np.ndarray, other: np.ndarray, approximate: str) -> np.ndarray:
    if approximate == "none":  # cdf(x) + x * pdf(x)
        grad = np.asarray(x * x)
        grad *= -0.5
        np.exp(grad, out=grad)
        grad *= _INV_SQRT_2PI
        grad *= x
        grad += other
    else:  # PyTorch's, in its order: 0.5 (1 + t) + (0.5 x) (1 - t^2) (beta (1 + 3 kappa x^2))
        t = other
        inner_derivative = x * x
        inner_derivative *= 3 * _TANH_KAPPA
        inner_derivative += 1
        inner_derivative *= _TANH_BETA
        grad = t * t
        np.subtract(1, grad, out=grad)
        grad *= x * 0.5
        grad *= inner_derivative
        left = t + 1
        left *= 0.5
        grad += left
    return grad


def _gelu_samples(rng: np.random.Generator) -> list[Sample]:
    x = rng.standard_normal((3, 5)) * 2
    return [Sample((x,)), Sample((x,), {"approximate": "tanh"}), Sample((np.array(-0.3),))]


gelu = register_op(
    "gelu", _gelu_forward, _gelu_vjp, inputs=("input",), defaults={"approximate": "none"}, samples=_gelu_samples,
    method=False,
    doc="""``input * Phi(input)`` (Phi: the standard normal cdf), as ``torch.nn.functional.gelu``.

    Args:
        input: the tensor.
        approximate: ``"none"`` for the exact erf form, ``"tanh"`` for PyTorch's tanh approximation.

    Raises:
        ValueError: for another ``approximate``.
    """,
)


# --- silu, softplus, logsigmoid --------------------------------------------------------------------
def _silu_forward(x, *, inplace):
    check_inplace(inplace, "silu")
    s, _ = _sigmoid_forward(x)
    with np.errstate(invalid="ignore"):  # -inf * 0 is NaN, as in PyTorch
        return x * s, (x, s)


def _silu_vjp(g, saved, needs_grad, **attrs):  # PyTorch's: g * s * (1 + x * (1 - s))
    x, s = saved
    grad = np.subtract(1, s)
    with np.errstate(invalid="ignore"):  # -inf * 0: NaN, as in PyTorch
        grad *= x
        grad += 1
        grad *= s
    grad *= g
    return (grad,)


silu = register_op("silu", _silu_forward, _silu_vjp, inputs=("input",), defaults={"inplace": False},
                   samples=unary_samples, method=False,
                   doc="``input * sigmoid(input)`` (swish), as ``torch.nn.functional.silu``; ``inplace`` is ignored.")


def _softplus_forward(x, *, beta, threshold):
    beta = real(beta, "beta", where="softplus", finite=False)
    threshold = real(threshold, "threshold", where="softplus", finite=False)
    scaled = x * beta
    with np.errstate(over="ignore"):
        out = np.asarray(np.exp(scaled))
    np.log1p(out, out=out)
    out /= beta
    linear = scaled > threshold  # PyTorch returns the input itself there
    if linear.any():
        np.copyto(out, x, where=linear)
    return out, (scaled, linear)


def _softplus_vjp(g, saved, needs_grad, **attrs):  # PyTorch's: z / (z + 1) with z = exp(beta x); 1 where linear
    scaled, linear = saved
    with np.errstate(over="ignore", invalid="ignore"):
        grad = np.asarray(np.exp(scaled))
        grad /= grad + 1
    if linear.any():
        np.copyto(grad, 1, where=linear)
    grad *= g
    return (grad,)


def _softplus_samples(rng: np.random.Generator) -> list[Sample]:
    x = rng.standard_normal((3, 5)) * 3
    return [Sample((x,)), Sample((x,), {"beta": 2.0, "threshold": 3.0}), Sample((np.array(25.0),)),
            Sample((x,), {"beta": 0.5})]


softplus = register_op(
    "softplus", _softplus_forward, _softplus_vjp, inputs=("input",), defaults={"beta": 1.0, "threshold": 20.0},
    samples=_softplus_samples, method=False,
    doc="""``log(1 + exp(beta * input)) / beta``, and ``input`` itself where ``beta * input > threshold``,
    as ``torch.nn.functional.softplus``.""",
)


def _logsigmoid_forward(x):  # min(x, 0) - log(1 + exp(-|x|)): no overflow anywhere
    e = np.asarray(np.abs(x))
    np.negative(e, out=e)
    np.exp(e, out=e)
    np.log1p(e, out=e)
    out = np.clip(x, -np.inf, 0)
    out -= e
    return out, x


def _logsigmoid_vjp(g, x, needs_grad):  # sigmoid(-x) = 1 / (1 + exp(x))
    with np.errstate(over="ignore"):
        d = np.asarray(np.exp(x))
    d += 1
    np.divide(g, d, out=d)
    return (d,)


logsigmoid = register_op("logsigmoid", _logsigmoid_forward, _logsigmoid_vjp, inputs=("input",),
                         samples=unary_samples, method=False,
                         doc="``log(sigmoid(input))``, computed stably, as ``torch.nn.functional.logsigmoid``.")


# --- hardtanh, relu6 --------------------------------------------------------------------------------
def _hardtanh_forward(x, *, min_val, max_val, inplace):
    low = real(min_val, "min_val", where="hardtanh", finite=False)
    high = real(max_val, "max_val", where="hardtanh", finite=False)
    check_inplace(inplace, "hardtanh")
    if low > high:
        raise ValueError(f"hardtanh: min_val cannot be greater than max_val, got min_val={min_val}, max_val={max_val}")
    inside = np.asarray(x > low)  # the gradient is 0 on the bounds and at NaN, as PyTorch's (vectorized) backward
    inside &= x < high
    return np.clip(x, low, high), inside


def _hardtanh_vjp(g, inside, needs_grad, **attrs):
    return (g * inside,)


def _hardtanh_samples(rng: np.random.Generator) -> list[Sample]:
    x = rng.standard_normal((3, 5)) * 2
    x = np.where(np.abs(np.abs(x) - 1) < 0.05, 0.5, x)
    return [Sample((x,)), Sample((x * 4 + 3,), {"min_val": 0.0, "max_val": 6.0}), Sample((np.array(0.3),))]


hardtanh = register_op(
    "hardtanh", _hardtanh_forward, _hardtanh_vjp, inputs=("input",),
    defaults={"min_val": -1.0, "max_val": 1.0, "inplace": False}, samples=_hardtanh_samples, method=False,
    doc="""``input`` clamped to ``[min_val, max_val]``, as ``torch.nn.functional.hardtanh``.

    Unlike ``clamp``, the gradient is 0 on the bounds themselves (PyTorch's rule). ``inplace`` is ignored.

    Raises:
        ValueError: if ``min_val > max_val``.
    """,
)


@register_function(method=False)
def relu6(input: Tensor | np.ndarray, inplace: bool = False) -> Tensor:
    """``min(max(input, 0), 6)``, that is ``hardtanh(input, 0, 6)``, as ``torch.nn.functional.relu6``.

    ``inplace`` is accepted for porting and ignored.
    """
    return hardtanh(input, 0.0, 6.0, inplace)
