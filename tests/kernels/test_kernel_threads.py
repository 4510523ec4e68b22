"""The split across threads: order of parts, one pool for all calls, no CPU affinity changes, fork safety."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

import tinygrad_conv as tc
from tinygrad_conv.kernels import threads

pytest.importorskip("threadpoolctl")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def two_threads():
    tc.kernels.set_num_threads(2)
    yield
    tc.kernels.set_num_threads(None)


def test_parts_come_back_in_image_order(two_threads):
    assert threads.split_images(lambda lo, hi: (lo, hi), 9) == [(0, 4), (4, 9)]


def test_one_thread_turns_the_split_off():
    tc.kernels.set_num_threads(1)
    try:
        seen = []
        assert threads.split_images(lambda lo, hi: seen.append(threading.get_ident()) or (lo, hi), 9) == [(0, 9)]
        assert seen == [threading.get_ident()]
    finally:
        tc.kernels.set_num_threads(None)
    with pytest.raises(ValueError, match="set_num_threads"):
        tc.kernels.set_num_threads(0)


def test_the_worker_threads_are_started_once(two_threads):
    threads.split_images(lambda lo, hi: None, 4)
    before = {t.ident for t in threading.enumerate() if t.name.startswith("tinygrad_conv")}
    for _ in range(20):
        threads.split_images(lambda lo, hi: None, 4)
    after = {t.ident for t in threading.enumerate() if t.name.startswith("tinygrad_conv")}
    assert before == after and len(after) >= 1  # a pool started for more threads earlier is kept


def test_no_cpu_affinity_is_changed_and_errors_propagate(two_threads):
    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no CPU affinity on this platform")
    before, seen = os.sched_getaffinity(0), []
    threads.split_images(lambda lo, hi: seen.append(os.sched_getaffinity(0)), 4)
    assert os.sched_getaffinity(0) == before and seen == [before, before]

    def fails(lo, hi):
        raise ValueError("in the work")

    with pytest.raises(ValueError, match="in the work"):
        threads.split_images(fails, 4)
    assert os.sched_getaffinity(0) == before
    source = (ROOT / "tinygrad_conv" / "kernels" / "threads.py").read_text()
    assert "sched_setaffinity" not in source and "sched_getcpu" not in source


FORK_SCRIPT = textwrap.dedent("""
    import multiprocessing, sys
    import numpy as np
    import tinygrad_conv as tc

    def step(seed):
        rng = np.random.default_rng(seed)
        x = tc.Tensor(rng.standard_normal((16, 16, 28, 28)).astype(np.float32), requires_grad=True)
        w = tc.Tensor(rng.standard_normal((32, 16, 3, 3)).astype(np.float32), requires_grad=True)
        tc.conv2d(x, w, padding=1).sum_of_squares().backward()
        return float(np.abs(w.grad).sum())

    def child(queue):
        queue.put(step(1))

    if __name__ == "__main__":
        tc.kernels.set_num_threads(2)
        with tc.kernels.tuning(split_min_flops=0):
            step(0)  # the parent's workers now exist
        expected = step(1)
        ctx = multiprocessing.get_context("fork")
        queue = ctx.Queue()
        process = ctx.Process(target=child, args=(queue,))
        process.start()
        got = queue.get(timeout=60)
        process.join(10)
        print("ok" if abs(got - expected) <= 1e-3 * abs(expected) else f"mismatch {got} {expected}")
""")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_runs_its_own_large_convs():
    result = subprocess.run([sys.executable, "-c", FORK_SCRIPT], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok", result.stdout + result.stderr


def _blas_counts():
    return [lib.get_num_threads() for lib in threads._blas_controller().lib_controllers]


def test_blas_runs_on_one_thread_inside_a_region_and_gets_its_count_back():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_counts()
        with threads.blas_one_thread():
            with threads.blas_one_thread():  # regions nest
                assert _blas_counts() == [1] * len(before)
            assert _blas_counts() == [1] * len(before)
            assert threads.get_num_threads() == max(before)  # the split still sees BLAS's own count
        assert _blas_counts() == before


def test_overlapping_regions_in_two_threads_restore_the_count_once_both_close():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_counts()
        opened, release = threading.Event(), threading.Event()

        def other():
            with threads.blas_one_thread():
                opened.set()
                release.wait(10)

        worker = threading.Thread(target=other)
        worker.start()
        opened.wait(10)
        with threads.blas_one_thread():
            pass  # closes first: the other thread's region is still open
        assert _blas_counts() == [1] * len(before)
        release.set()
        worker.join(10)
        assert _blas_counts() == before


def test_a_large_conv_and_matmul_leave_blas_as_they_found_it(two_threads):
    import numpy as np
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_counts()
        x = tc.Tensor(rng.standard_normal((8, 8, 16, 16)).astype(np.float32), requires_grad=True)
        w = tc.Tensor(rng.standard_normal((16, 8, 3, 3)).astype(np.float32), requires_grad=True)
        a = tc.Tensor(rng.standard_normal((300, 200)), requires_grad=True)
        (tc.conv2d(x, w, padding=1).sum_of_squares() + (a @ a.T).sum()).backward()
        assert _blas_counts() == before


FORK_IN_REGION_SCRIPT = textwrap.dedent("""
    import os
    from tinygrad_conv.kernels import threads

    def counts():
        return [lib.get_num_threads() for lib in threads._blas_controller().lib_controllers]

    before = counts()
    with threads.blas_one_thread():
        pid = os.fork()
        if pid == 0:
            inside = counts()
    if pid == 0:  # the child left the forking thread's region like the parent: BLAS got its count back
        with threads.blas_one_thread():
            again = counts()
        ok = inside == [1] * len(before) and again == inside and counts() == before
        print("ok" if ok else f"child {before} {inside} {again} {counts()}", flush=True)
        os._exit(0)
    os.waitpid(pid, 0)
""")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_child_forked_inside_a_region_keeps_that_region_and_closes_it():
    result = subprocess.run([sys.executable, "-c", FORK_IN_REGION_SCRIPT], capture_output=True, text=True,
                            timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok", result.stdout + result.stderr


def test_a_count_set_by_someone_else_inside_a_region_is_not_overwritten():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_counts()
        with threads.blas_one_thread():
            for lib in threads._blas_controller().lib_controllers:
                threads._set_blas_threads(lib, 3)  # another library changes BLAS meanwhile
        assert _blas_counts() == [3] * len(before)
