"""Time one training step of small CNNs: tinygrad_conv against PyTorch on the CPU.

    python benchmarks/train_step.py                          # every model, full settings
    python benchmarks/train_step.py --models digits vgg --steps 30 --threads 1
    python benchmarks/train_step.py --plot benchmarks/results/train_step.png
    python benchmarks/train_step.py --models vgg --profile benchmarks/results/vgg_profile_before.txt

Each model is built twice from the public nn APIs (``tc.nn.*`` and ``torch.nn.*``); the
tinygrad_conv model draws the initial weights from a fixed seed and PyTorch's copy gets
them through ``load_state_dict`` (the keys are the same: "0.weight", "0.bias", ...). Both
train on the same batches, drawn once from the same seed and cycled.

A training step is forward, loss (cross-entropy, or the seed demo's sum of squares),
``zero_grad``, ``backward`` and an SGD step (momentum 0.9 for the CNNs), all in float32
(the seed demo runs in float64 with plain SGD, as examples/kernel_recovery.py does). The
"vgg_infer" model is the VGG-style forward alone under ``no_grad``.

Before anything is timed, both frameworks run two steps and must agree on the loss
at step 0 (the initial weights) and at step 1 (after one update, so that the gradients
and the optimizer agree too) to 1e-4 relative (1e-9 in float64); otherwise the script
stops with an error naming the model and both losses.

Timing: both frameworks warm up, then run alternating blocks of steps (``--rounds``
blocks each, a ``--settle`` pause before each block so that the other framework's
spinning worker threads have gone to sleep, then untimed steps for 0.2 s, since the first
steps after a pause run slower in both frameworks); every step is timed on its own and the
table gives the median of the ``--steps`` timed steps, from this one run.

Other processes on a small machine distort the figures (a 2-thread step waits for a thread
whose core another process holds). So each model waits up to ``--wait-idle`` seconds for
the CPUs to be quiet (other processes under 10% of them, read from /proc/stat less this
process's own ticks), a timed block during which they were not is run again (up to 3
times), and the JSON records the other processes' load during every model's blocks.
With ``--threads 1`` all of a step's work runs on the calling thread, so the table adds its
CPU time (``time.thread_time``): it leaves out the time other processes held the core, though
not their effect on the caches (measured on a saturated 2-core VM: the seed demo's CPU time
per step rose 4x too).

Threads: ``--threads k`` (default ``os.cpu_count()``) sets ``torch.set_num_threads(k)`` and
limits numpy's BLAS to k threads through threadpoolctl. tinygrad_conv's large conv2d splits
a batch's images into min(N, k) ranges on its own thread pool, and its large matmul (Linear)
the rows of its result, each range doing single-threaded BLAS calls
(tinygrad_conv/kernels/threads.py); its other ops run on the calling thread.
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import json
import os
import platform
import pstats
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import tinygrad_conv as tc  # noqa: E402

try:
    import torch
except ImportError:  # torch is optional: without it only tinygrad_conv is timed
    torch = None

RESULTS = Path(__file__).resolve().parent / "results"
CLASSES = 10
BATCHES = 4  # distinct batches, cycled
SEED = 0

# The seed demo's true kernels (examples/kernel_recovery.py).
K1 = np.array([[0, 0, 1], [0, 2, 0], [1, 0, 1]], dtype=np.float64)
K2 = np.array([[1, 0, 0, 1], [1, 0, 0, 1], [0, -1, -1, 0], [0, 1, 1, 0]], dtype=np.float64)

Layer = tuple  # ("conv", in, out, kernel, padding) | ("relu",) | ("pool", size) | ("flatten",) | ("linear", in, out)


@dataclass(frozen=True)
class Case:
    """One benchmarked model and how it is trained.

    Attributes:
        name: the name on the command line and in the table.
        description: the architecture in a few words.
        layers: the Sequential's layers, or None for the seed demo (its own Module).
        input_shape: one batch's input shape.
        dtype: the parameters' and inputs' dtype.
        lr: the SGD learning rate.
        momentum: the SGD momentum.
        train: False for a forward pass alone under ``no_grad``.
    """

    name: str
    description: str
    layers: tuple[Layer, ...] | None
    input_shape: tuple[int, ...]
    dtype: str = "float32"
    lr: float = 0.01
    momentum: float = 0.9
    train: bool = True

    @property
    def rtol(self) -> float:
        """The relative tolerance of the loss check."""
        return 1e-4 if self.dtype == "float32" else 1e-9

    @property
    def batch(self) -> int:
        """Images per step (1 for the seed demo's single 2-D map)."""
        return self.input_shape[0] if len(self.input_shape) == 4 else 1


DIGITS = (("conv", 1, 16, 3, 1), ("relu",), ("pool", 2), ("conv", 16, 32, 3, 1), ("relu",), ("pool", 2),
          ("flatten",), ("linear", 32 * 2 * 2, CLASSES))
LENET5 = (("conv", 1, 6, 5, 2), ("relu",), ("pool", 2), ("conv", 6, 16, 5, 0), ("relu",), ("pool", 2), ("flatten",),
          ("linear", 400, 120), ("relu",), ("linear", 120, 84), ("relu",), ("linear", 84, CLASSES))
VGG = (("conv", 3, 32, 3, 1), ("relu",), ("conv", 32, 32, 3, 1), ("relu",), ("pool", 2), ("conv", 32, 64, 3, 1),
       ("relu",), ("pool", 2), ("flatten",), ("linear", 64 * 8 * 8, CLASSES))

CASES = (
    Case("digits", "conv16-pool-conv32-pool-fc, 1x8x8, batch 32", DIGITS, (32, 1, 8, 8)),
    Case("lenet5", "LeNet-5, 1x28x28, batch 64", LENET5, (64, 1, 28, 28)),
    Case("vgg", "conv32-conv32-pool-conv64-pool-fc, 3x32x32, batch 32", VGG, (32, 3, 32, 32)),
    Case("seed", "seed demo: conv3x3 s1 -> conv4x4 s2, 20x20, sum of squares, float64, SGD", None, (20, 20),
         dtype="float64", lr=3e-5, momentum=0.0),
    Case("vgg_infer", "vgg forward only under no_grad, batch 32", VGG, (32, 3, 32, 32), train=False),
)
CASE_NAMES = tuple(case.name for case in CASES)


class LossMismatchError(RuntimeError):
    """The two frameworks disagree on a model's loss before timing: the comparison would be meaningless."""


# --- models ------------------------------------------------------------------------
def tc_layer(spec: Layer, rng: np.random.Generator, dtype: np.dtype) -> tc.nn.Module:
    """One tinygrad_conv layer from its spec, with parameters of ``dtype`` drawn from ``rng``."""
    kind, *args = spec
    if kind == "conv":
        cin, cout, kernel, padding = args
        return tc.nn.Conv2d(cin, cout, kernel, padding=padding, rng=rng, dtype=dtype)
    if kind == "linear":
        return tc.nn.Linear(*args, rng=rng, dtype=dtype)
    return {"relu": tc.nn.ReLU, "pool": tc.nn.MaxPool2d, "flatten": tc.nn.Flatten}[kind](*args)


def torch_layer(spec: Layer, dtype: Any) -> Any:
    """The PyTorch layer for ``spec`` (its initial weights are overwritten from tinygrad_conv's)."""
    kind, *args = spec
    if kind == "conv":
        cin, cout, kernel, padding = args
        return torch.nn.Conv2d(cin, cout, kernel, padding=padding, dtype=dtype)
    if kind == "linear":
        return torch.nn.Linear(*args, dtype=dtype)
    return {"relu": torch.nn.ReLU, "pool": torch.nn.MaxPool2d, "flatten": torch.nn.Flatten}[kind](*args)


class TcSeedDemo(tc.nn.Module):
    """The seed demo's model: conv(w1 3x3, b1, stride 1) then conv(w2 4x4, b2, stride 2) on one 2-D map."""

    def __init__(self, rng: np.random.Generator, dtype: Any = np.float64):
        super().__init__()
        self.w1 = tc.nn.Parameter(rng.normal(0, 1, (3, 3)), dtype=dtype)  # drawn in the example's order
        self.b1 = tc.nn.Parameter(rng.normal(0, 1), dtype=dtype)
        self.w2 = tc.nn.Parameter(rng.normal(0, 1, (4, 4)), dtype=dtype)
        self.b2 = tc.nn.Parameter(rng.normal(0, 1), dtype=dtype)

    def forward(self, x: tc.Tensor) -> tc.Tensor:
        return tc.conv2d(tc.conv2d(x, self.w1, self.b1, stride=1), self.w2, self.b2, stride=2)


def torch_seed_demo(dtype: Any) -> Any:
    """PyTorch's seed demo: the same parameter names, as (1, 1, kh, kw) kernels and (1,) biases."""

    class TorchSeedDemo(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w1 = torch.nn.Parameter(torch.zeros(1, 1, 3, 3, dtype=dtype))
            self.b1 = torch.nn.Parameter(torch.zeros(1, dtype=dtype))
            self.w2 = torch.nn.Parameter(torch.zeros(1, 1, 4, 4, dtype=dtype))
            self.b2 = torch.nn.Parameter(torch.zeros(1, dtype=dtype))

        def forward(self, x: Any) -> Any:
            conv = torch.nn.functional.conv2d
            return conv(conv(x, self.w1, self.b1, stride=1), self.w2, self.b2, stride=2)

    return TorchSeedDemo()


def build_tc(case: Case, rng: np.random.Generator) -> tc.nn.Module:
    """The tinygrad_conv model of ``case``, its weights drawn from ``rng``."""
    dtype = np.dtype(case.dtype)
    if case.layers is None:
        return TcSeedDemo(rng, dtype)
    return tc.nn.Sequential(*(tc_layer(spec, rng, dtype) for spec in case.layers))


def build_torch(case: Case, tc_model: tc.nn.Module) -> Any:
    """PyTorch's model of ``case`` with ``tc_model``'s weights, loaded strictly by name."""
    dtype = getattr(torch, case.dtype)
    model = torch_seed_demo(dtype) if case.layers is None else torch.nn.Sequential(
        *(torch_layer(spec, dtype) for spec in case.layers))
    shapes = {key: value.shape for key, value in model.state_dict().items()}
    state = {key: torch.from_numpy(value.reshape(shapes.get(key, value.shape)))  # the seed demo's (3, 3) -> (1, 1, 3, 3)
             for key, value in tc_model.state_dict().items()}
    model.load_state_dict(state, strict=True)  # raises on any key that differs
    return model


# --- data -------------------------------------------------------------------------
def make_batches(case: Case, rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """``BATCHES`` (input, target) pairs for ``case``; the seed demo has one fixed input and target map."""
    dtype = np.dtype(case.dtype)
    if case.layers is None:
        x = rng.normal(1.0, 1.0, case.input_shape)
        with tc.no_grad():
            target = tc.conv2d(tc.conv2d(x, K1, 0.0, stride=1), K2, 0.0, stride=2).data
        return [(x.astype(dtype), target.astype(dtype))]
    return [(rng.standard_normal(case.input_shape).astype(dtype), rng.integers(0, CLASSES, case.input_shape[0]))
            for _ in range(BATCHES)]


# --- one step per framework -----------------------------------------------------------
Step = Callable[[], Any]


def tc_step(case: Case, model: tc.nn.Module, batches: list[tuple[np.ndarray, np.ndarray]]) -> Step:
    """A function that runs the next training step (or forward pass) in tinygrad_conv and returns the loss (logits)."""
    data = itertools.cycle([(tc.Tensor(x), tc.Tensor(t) if case.layers is None else t) for x, t in batches])
    if not case.train:
        def infer() -> tc.Tensor:
            with tc.no_grad():
                return model(next(data)[0])
        return infer
    optimizer = tc.optim.SGD(model.parameters(), lr=case.lr, momentum=case.momentum)
    loss_of = tc_loss_function(case)

    def step() -> tc.Tensor:
        x, target = next(data)
        loss = loss_of(model(x), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    return step


def tc_loss_function(case: Case) -> Callable[[tc.Tensor, Any], tc.Tensor]:
    """The model's loss in tinygrad_conv: cross-entropy on class indices, or the seed demo's sum of squares."""
    if case.layers is None:
        return lambda out, target: tc.sum_of_squares(out - target)
    return tc.cross_entropy


def torch_step(case: Case, model: Any, batches: list[tuple[np.ndarray, np.ndarray]]) -> Step:
    """As :func:`tc_step`, in PyTorch, on the same arrays."""
    shape = (1, 1) + case.input_shape if case.layers is None else case.input_shape
    data = itertools.cycle([(torch.from_numpy(x.reshape(shape)), torch.from_numpy(t.reshape((1, 1) + t.shape)))
                            if case.layers is None else (torch.from_numpy(x), torch.from_numpy(t.astype(np.int64)))
                            for x, t in batches])
    if not case.train:
        def infer() -> Any:
            with torch.no_grad():
                return model(next(data)[0])
        return infer
    optimizer = torch.optim.SGD(model.parameters(), lr=case.lr, momentum=case.momentum)
    loss_of = torch_loss_function(case)

    def step() -> Any:
        x, target = next(data)
        loss = loss_of(model(x), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    return step


def torch_loss_function(case: Case) -> Callable[[Any, Any], Any]:
    """As :func:`tc_loss_function`, in PyTorch."""
    if case.layers is None:
        return lambda out, target: ((out - target) ** 2).sum()
    return torch.nn.functional.cross_entropy


# --- the loss check -------------------------------------------------------------------
def step_loss(case: Case, result: Any, target: np.ndarray) -> float:
    """The loss of one step's result: the loss itself, or for inference the cross-entropy of its logits."""
    logits = result.data if isinstance(result, tc.Tensor) else result.detach().numpy()
    if logits.dtype != np.dtype(case.dtype):
        raise TypeError(f"{case.name}: a step returned {logits.dtype}, expected {case.dtype}")
    if case.train:
        return float(logits)
    logits = logits.astype(np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(target)), target].mean())


def relative_difference(a: float, b: float) -> float:
    """|a - b| / max(|a|, |b|), 0 when both are 0."""
    scale = max(abs(a), abs(b))
    return abs(a - b) / scale if scale else 0.0


def check_losses(case: Case, steps: dict[str, Step], batches: list[tuple[np.ndarray, np.ndarray]],
                 count: int = 2) -> list[dict[str, float]]:
    """Run ``count`` steps of every framework and compare their losses (step 0: the initial weights).

    Returns:
        One dict per step: each framework's loss and the relative difference.

    Raises:
        LossMismatchError: if the losses differ by more than ``case.rtol`` relative, or a loss is not finite.
    """
    checks = []
    for index in range(count):
        target = batches[index % len(batches)][1]
        losses = {name: step_loss(case, step(), target) for name, step in steps.items()}
        values = list(losses.values())
        diff = relative_difference(values[0], values[-1])
        checks.append({**{f"{name}_loss": value for name, value in losses.items()}, "relative_difference": diff})
        if not all(np.isfinite(values)) or diff > case.rtol:
            shown = ", ".join(f"{name} {value:.9g}" for name, value in losses.items())
            raise LossMismatchError(
                f"{case.name}: the step-{index} loss differs between the frameworks: {shown} (relative difference "
                f"{diff:.3g} > {case.rtol:g}); the models, weights or batches differ, so nothing was timed")
    return checks


def check_dtypes(case: Case, model: tc.nn.Module) -> None:
    """Raise TypeError if a parameter or gradient of ``model`` is not of ``case.dtype`` (float64 creeping in, say)."""
    for name, param in model.named_parameters():
        for what, array in (("data", param.data), ("grad", param.grad)):
            if array is not None and array.dtype != np.dtype(case.dtype):
                raise TypeError(f"{case.name}: parameter {name}.{what} is {array.dtype}, expected {case.dtype}")


# --- timing ---------------------------------------------------------------------------
def time_steps(step: Step, count: int) -> list[float]:
    """Seconds taken by each of ``count`` calls of ``step``."""
    return time_steps_both(step, count)[0]


def time_steps_both(step: Step, count: int) -> tuple[list[float], list[float]]:
    """Wall-clock seconds and the calling thread's CPU seconds taken by each of ``count`` calls of ``step``.

    With one thread per framework all the work runs on the calling thread, so its CPU time is
    the step's cost even while other processes hold the cores; with more it misses the workers.
    """
    walls, cpus = [], []
    for _ in range(count):
        wall, cpu = time.perf_counter(), time.thread_time()
        step()
        cpus.append(time.thread_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return walls, cpus


# Other processes on the machine distort the figures badly: a 2-thread OpenMP region or conv split
# waits a whole scheduler slice for a thread whose core another process holds (measured: torch's
# seed-demo step took 32 ms instead of 0.24 ms while a test suite ran on one of the two cores).
QUIET = 0.1  # other processes may use at most this fraction of all CPUs during a timed block


def cpu_ticks() -> tuple[int, int, int] | None:
    """(busy, total) clock ticks of all CPUs and this process's own ticks (every thread); None off Linux."""
    try:
        ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        own = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        mine = int(own[11]) + int(own[12])  # utime and stime, fields 14 and 15
    except (OSError, ValueError, IndexError):
        return None
    total = sum(ticks)  # user, nice, system, idle, iowait, irq, softirq, steal
    return total - ticks[3] - ticks[4], total, mine


def foreign_load(before: tuple[int, int, int] | None, after: tuple[int, int, int] | None) -> float | None:
    """The fraction of all CPUs that other processes kept busy between two :func:`cpu_ticks` readings."""
    if before is None or after is None:
        return None
    busy, total, mine = (a - b for a, b in zip(after, before))
    return max(busy - mine, 0) / total if total > 0 else 0.0


def background_load(interval: float = 0.5) -> float | None:
    """:func:`foreign_load` over ``interval`` seconds of sleep."""
    before = cpu_ticks()
    time.sleep(interval)
    return foreign_load(before, cpu_ticks())


def wait_for_quiet(limit_s: float) -> float | None:
    """Sample :func:`background_load` until it is at most ``QUIET`` or ``limit_s`` has passed; return the last one."""
    deadline = time.monotonic() + limit_s
    load = background_load()
    while load is not None and load > QUIET and time.monotonic() < deadline:
        load = background_load()
    return load


@dataclass
class Timing:
    """One framework's timed steps.

    Attributes:
        times: wall-clock seconds per step.
        cpu_times: the calling thread's CPU seconds per step.
        loads: the other processes' share of the CPUs during each kept block (-1: unknown).
        redone: blocks thrown away because other processes were busy.
    """

    times: list[float] = field(default_factory=list)
    cpu_times: list[float] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)
    redone: int = 0


BLOCK_WARMUP_S = 0.2
"""Untimed steps, for at least this long, after each pause: the steps right after a pause ran up to
1.5x slower for about 0.1 s on the project's VM (both frameworks), where a training loop runs
its steps back to back."""


def timed_block(step: Step, size: int, settle: float) -> tuple[tuple[list[float], list[float]], float | None]:
    """(wall, CPU) seconds of ``size`` steps after a ``settle`` pause, and the other processes' load meanwhile.

    After the pause the block runs untimed steps for ``BLOCK_WARMUP_S`` (at least two) first.
    """
    time.sleep(settle)
    start, warm = time.perf_counter(), 0
    while warm < 2 or (settle > 0 and time.perf_counter() - start < BLOCK_WARMUP_S):
        step()
        warm += 1
    before = cpu_ticks()
    times = time_steps_both(step, size)
    return times, foreign_load(before, cpu_ticks())


def measure(steps: dict[str, Step], warmup: int, count: int, rounds: int, settle: float, wait_s: float = 0.0,
            retries: int = 3) -> dict[str, Timing]:
    """Warm up, then time ``rounds`` alternating blocks per framework that add up to ``count`` steps.

    A block during which other processes used more than ``QUIET`` of the CPUs is thrown away and
    run again (up to ``retries`` times, after waiting up to ``wait_s`` for them to finish).
    """
    for step in steps.values():
        time_steps(step, warmup)
    timings = {name: Timing() for name in steps}
    rounds = max(1, min(rounds, count))
    for block in range(rounds):
        size = count * (block + 1) // rounds - count * block // rounds
        for name, step in steps.items():
            times, load = timed_block(step, size, settle)
            for _ in range(retries if wait_s > 0 else 0):
                if load is None or load <= QUIET:
                    break
                timings[name].redone += 1
                wait_for_quiet(wait_s)
                times, load = timed_block(step, size, settle)
            timings[name].times += times[0]
            timings[name].cpu_times += times[1]
            timings[name].loads.append(-1.0 if load is None else load)
    return timings


def summarize(times: list[float]) -> dict[str, float]:
    """Median and quartiles in milliseconds."""
    q1, median, q3 = statistics.quantiles(times, n=4) if len(times) > 1 else (times[0],) * 3
    return {"ms": statistics.median(times) * 1e3, "p25_ms": q1 * 1e3, "p75_ms": q3 * 1e3}


def bench_case(case: Case, warmup: int, count: int, rounds: int, settle: float, with_torch: bool,
               wait_s: float = 0.0) -> dict[str, Any]:
    """Build, check and time one model (after waiting up to ``wait_s`` for a quiet machine); return its figures."""
    steps, model, batches = prepare(case, with_torch)
    checks = check_losses(case, steps, batches) if len(steps) > 1 else []
    check_dtypes(case, model)
    load_before = wait_for_quiet(wait_s) if wait_s > 0 else None
    timings = measure(steps, warmup, count, rounds, settle, wait_s)
    row: dict[str, Any] = {"model": case.name, "description": case.description, "dtype": case.dtype,
                           "batch": case.batch, "input_shape": list(case.input_shape), "train": case.train,
                           "checks": checks, "load_before": load_before}
    for name, timing in timings.items():
        row.update({f"{name}_{key}": value for key, value in summarize(timing.times).items()})
        row[f"{name}_thread_cpu_ms"] = statistics.median(timing.cpu_times) * 1e3
        row[f"{name}_max_block_load"] = max(timing.loads)
        row[f"{name}_blocks_redone"] = timing.redone
    if "torch_ms" in row:
        row["ratio"] = row["tc_ms"] / row["torch_ms"]
        row["thread_cpu_ratio"] = row["tc_thread_cpu_ms"] / row["torch_thread_cpu_ms"]
    worst = max(max(timing.loads) for timing in timings.values())
    if worst > QUIET:
        print(f"warning: {case.name}: other processes kept {worst:.0%} of the CPUs busy during a timed block; "
              f"its figures are distorted", file=sys.stderr)
    return row


def prepare(case: Case, with_torch: bool) -> tuple[dict[str, Step], tc.nn.Module, list[tuple[np.ndarray, Any]]]:
    """The step functions of ``case`` ("tc", and "torch" when asked) on fresh models, the tc model and the batches."""
    rng = np.random.default_rng(SEED)
    batches = make_batches(case, rng)
    model = build_tc(case, rng)
    steps = {"tc": tc_step(case, model, batches)}
    if with_torch:
        steps["torch"] = torch_step(case, build_torch(case, model), batches)
    return steps, model, batches


# --- threads and the machine -------------------------------------------------------------
class ThreadLimits:
    """Limit numpy's BLAS (through threadpoolctl) and torch to k threads; ``restore()`` undoes both."""

    def __init__(self, k: int):
        self._torch_before = None if torch is None else torch.get_num_threads()
        self._blas = None
        try:
            from threadpoolctl import threadpool_limits

            self._blas = threadpool_limits(limits=k, user_api="blas")
        except ImportError:
            print("threadpoolctl is not installed: numpy's BLAS threads are left as they are", file=sys.stderr)
        if torch is not None:
            torch.set_num_threads(k)

    def restore(self) -> None:
        """Give BLAS and torch back the thread counts they had before."""
        if self._blas is not None:
            self._blas.restore_original_limits()
        if self._torch_before is not None:
            torch.set_num_threads(self._torch_before)


def thread_facts(k: int) -> dict[str, Any]:
    """The thread counts in use, per framework."""
    facts: dict[str, Any] = {"requested": k, "numpy_blas": None, "torch": None if torch is None else torch.get_num_threads()}
    try:
        from threadpoolctl import threadpool_info

        facts["numpy_blas"] = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    except ImportError:
        pass
    split = tc.kernels.get_num_threads()
    facts["tc_conv"] = (f"a large conv2d splits a batch of N images into min(N, {split}) ranges and a large matmul "
                        f"its rows into {split}, one range per thread (tinygrad_conv.kernels.threads.split_images), "
                        f"each with 1-thread BLAS; other ops run on the calling thread")
    return facts


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (or platform.processor())."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """The machine and library versions the figures were measured on."""
    facts: dict[str, Any] = {
        "cpu": cpu_model(), "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "platform": platform.platform(), "python": platform.python_version(), "numpy": np.__version__,
        "tinygrad_conv": tc.__version__, "torch": None if torch is None else torch.__version__,
        "loadavg": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }
    try:
        from threadpoolctl import threadpool_info

        facts["threadpools"] = [{k: i.get(k) for k in ("user_api", "internal_api", "version", "num_threads",
                                                       "architecture", "threading_layer", "prefix")}
                                for i in threadpool_info()]
    except ImportError:
        facts["threadpools"] = None
    return facts


# --- output -------------------------------------------------------------------------------
def format_table(rows: list[dict[str, Any]], cpu: bool = False) -> str:
    """model | tc ms | torch ms | ratio, one line per model; with ``cpu``, the calling thread's CPU ms too."""
    def cell(row: dict[str, Any], key: str, fmt: str = ".3f") -> str:
        return format(row[key], fmt) if key in row else "-"

    extra = f"{'tc cpu ms':>11}{'torch cpu':>11}{'cpu ratio':>10}" if cpu else ""
    lines = [f"{'model':<11}{'tc ms':>10}{'torch ms':>10}{'tc/torch':>10}{extra}  description"]
    for row in rows:
        extra = (f"{cell(row, 'tc_thread_cpu_ms'):>11}{cell(row, 'torch_thread_cpu_ms'):>11}"
                 f"{cell(row, 'thread_cpu_ratio', '.2f'):>10}") if cpu else ""
        lines.append(f"{row['model']:<11}{cell(row, 'tc_ms'):>10}{cell(row, 'torch_ms'):>10}"
                     f"{cell(row, 'ratio', '.2f'):>10}{extra}  {row['description']}")
    return "\n".join(lines)


def plot_ratios(rows: list[dict[str, Any]], path: Path, threads: int) -> None:
    """A bar chart of tc/torch per model, a line at 1 (equal speed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [row for row in rows if "ratio" in row]
    fig, ax = plt.subplots(figsize=(6.4, 0.5 * len(rows) + 1.4), dpi=120)
    names, ratios = [row["model"] for row in rows], [row["ratio"] for row in rows]
    bars = ax.barh(names[::-1], ratios[::-1], color=["#1f6feb" if r <= 1 else "#d1242f" for r in ratios[::-1]])
    ax.bar_label(bars, [f"{r:.2f}x" for r in ratios[::-1]], padding=3)
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set(xlabel="tinygrad_conv time / PyTorch time (lower is better)",
           title=f"training step, {threads} thread(s): {cpu_model()}")
    ax.set_xlim(0, max(ratios + [1.0]) * 1.2)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


# --- profile --------------------------------------------------------------------------------
def profile_case(case: Case, steps: int, warmup: int, wait_s: float = 0.0, top: int = 25) -> str:
    """cProfile ``steps`` tinygrad_conv steps of ``case``: the top functions by tottime and each op's share.

    Only the calling thread is profiled: work that conv2d hands to its pool's threads shows up
    as the caller's wait for them (``acquire`` of a lock).
    """
    step_fns, _, _ = prepare(case, with_torch=False)
    step = step_fns["tc"]
    time_steps(step, warmup)
    if wait_s > 0:
        wait_for_quiet(wait_s)
    wall = statistics.median(time_steps(step, steps))
    profiler = cProfile.Profile()
    before = cpu_ticks()
    profiler.enable()
    for _ in range(steps):
        step()
    profiler.disable()
    load = foreign_load(before, cpu_ticks())
    stream = StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.sort_stats("tottime").print_stats(top)
    header = (f"{case.name}: {case.description}; {steps} tc steps profiled after {warmup} warm-up steps; "
              f"unprofiled median {wall * 1e3:.3f} ms/step; profiled total {stats.total_tt * 1e3 / steps:.3f} ms/step; "
              f"other processes' load meanwhile {'unknown' if load is None else f'{load:.0%}'}")
    print(header)
    return header + "\n\n" + op_breakdown(stats, steps) + "\n\n" + stream.getvalue().strip()


def _code_key(fn: Callable[..., Any]) -> tuple[str, int, str]:
    code = fn.__code__
    return code.co_filename, code.co_firstlineno, code.co_name


def op_breakdown(stats: pstats.Stats, steps: int) -> str:
    """Cumulative ms per step of every registered op's forward and vjp, and the engine's own (self) time."""
    table = stats.stats  # type: ignore[attr-defined]
    total = stats.total_tt  # type: ignore[attr-defined]
    lines = [f"{'op / part':<28}{'calls/step':>11}{'cum ms/step':>13}{'share':>8}"]
    rows = []
    for op in tc.OPS.values():
        for part, fn in (("forward", op.forward), ("vjp", op.vjp)):
            entry = table.get(_code_key(fn))
            if entry:
                rows.append((f"{op.name} {part}", entry[1] / steps, entry[3]))
    engine_files = {Path(sys.modules["tinygrad_conv.tensor"].__file__).name, Path(tc.registry.__file__).name}
    engine = sum(entry[2] for key, entry in table.items() if Path(key[0]).name in engine_files)
    rows.append(("engine self time (tensor.py, registry.py)", float("nan"), engine))
    optim = sum(entry[3] for key, entry in table.items()
                if Path(key[0]).name == Path(tc.optim.__file__).name and key[2] in ("step", "zero_grad"))
    rows.append(("optimizer step + zero_grad", float("nan"), optim))
    for name, calls, seconds in sorted(rows, key=lambda r: -r[2]):
        shown = "" if np.isnan(calls) else f"{calls:.0f}"
        lines.append(f"{name:<28}{shown:>11}{seconds * 1e3 / steps:>13.3f}{seconds / total:>8.1%}")
    return "\n".join(lines)


def write_profile(cases: Sequence[Case], path: Path, threads: int, steps: int, warmup: int, wait_s: float = 0.0) -> None:
    """Profile each case at ``threads`` threads and, when that is more than one, at one thread too."""
    sections = []
    for k in sorted({threads, 1}, reverse=True):
        limits = ThreadLimits(k)
        try:
            for case in cases:
                sections.append(f"===== {k} thread(s) =====\n{profile_case(case, steps, warmup, wait_s)}")
        finally:
            limits.restore()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"machine: {cpu_model()}, {os.cpu_count()} cores; numpy {np.__version__}\n\n"
                    + "\n\n".join(sections) + "\n")
    print(f"wrote {path}")


# --- main -------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="models: " + "; ".join(f"{c.name}: {c.description}" for c in CASES))
    parser.add_argument("--models", nargs="+", choices=CASE_NAMES, default=list(CASE_NAMES))
    parser.add_argument("--steps", type=int, default=50, help="timed steps per framework and model (the median)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first (after the two checked steps)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating blocks the timed steps are split into")
    parser.add_argument("--settle", type=float, default=0.1, help="seconds of pause before each block")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="threads per framework")
    parser.add_argument("--json", type=Path, default=RESULTS / "train_step.json", help="where to write the figures")
    parser.add_argument("--plot", type=Path, help="also draw the tc/torch ratios here (needs matplotlib)")
    parser.add_argument("--wait-idle", type=float, default=30.0,
                        help="before each model, and before redoing a block that other processes disturbed (more "
                             "than 10%% of the CPUs busy), wait up to this many seconds for them; 0: never wait or "
                             "redo")
    parser.add_argument("--no-torch", action="store_true", help="time tinygrad_conv alone even if torch is installed")
    parser.add_argument("--profile", type=Path,
                        help="instead of timing, cProfile the tc steps of --models and write the text here")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.warmup < 0 or args.threads < 1 or args.rounds < 1 or min(args.settle, args.wait_idle) < 0:
        parser.error("--steps, --threads and --rounds must be >= 1, --warmup, --settle and --wait-idle >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the exit status (2 when the frameworks disagree on a loss)."""
    args = parse_args(argv)
    cases = [case for case in CASES if case.name in args.models]
    if args.profile:
        write_profile(cases, args.profile, args.threads, args.steps, args.warmup, args.wait_idle)
        return 0
    with_torch = torch is not None and not args.no_torch
    if not with_torch:
        print("PyTorch is not installed (or --no-torch): timing tinygrad_conv only" if torch is None
              else "--no-torch: timing tinygrad_conv only")
    limits = ThreadLimits(args.threads)
    threads = thread_facts(args.threads)
    print(f"threads: torch {threads['torch']}, numpy BLAS {threads['numpy_blas']}; tc: {threads['tc_conv']}")
    rows = []
    try:
        for case in cases:
            rows.append(bench_case(case, args.warmup, args.steps, args.rounds, args.settle, with_torch, args.wait_idle))
            print(format_table(rows[-1:], args.threads == 1).splitlines()[1], flush=True)
    except LossMismatchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        limits.restore()
    print(f"\nmedian of {args.steps} steps after {args.warmup} warm-up steps, {args.threads} thread(s)\n")
    print(format_table(rows, args.threads == 1))
    report = {"machine": machine(), "threads": threads, "torch_timed": with_torch,
              "settings": {"steps": args.steps, "warmup": args.warmup, "rounds": args.rounds, "settle_s": args.settle,
                           "seed": SEED, "batches_cycled": BATCHES},
              "results": rows}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.json}")
    if args.plot and with_torch:
        plot_ratios(rows, args.plot, args.threads)
        print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
