"""The buffer pool: reuse only when free, LRU eviction under a byte cap, clear, off."""

from __future__ import annotations

import weakref

import numpy as np
import pytest

import tinygrad_conv as tc
from tinygrad_conv.kernels.buffers import BufferPool


def test_buffers_are_handed_out_again_only_when_nobody_holds_them():
    pool = BufferPool(1 << 20)
    first = pool.get(("test",), (3, 4), np.float64)
    view = first[1:]
    del first
    second = pool.get(("test",), (3, 4), np.float64)
    assert not np.shares_memory(second, view)  # the view keeps the first buffer alive
    held = weakref.ref(second)
    del second
    assert pool.get(("test",), (3, 4), np.float64) is held()
    kept = pool.get(("zeros",), (3, 4), np.float64, zeros_kept=True)
    assert not kept.any()
    kept[0, 0] = 5.0
    kept_id = id(kept)
    del kept
    again = pool.get(("zeros",), (3, 4), np.float64, zeros_kept=True)
    assert id(again) == kept_id and again[0, 0] == 5.0  # handed out as it is: its users keep the zeros
    del again
    pool.clear()
    assert held() is None and pool.stats()["bytes"] == 0


def test_the_cap_evicts_the_least_recently_used_keys():
    pool = BufferPool(cap=3 * 800)  # room for three 100-element float64 arrays
    for name in "abc":
        pool.get((name,), (100,), np.float64)
    pool.get(("a",), (100,), np.float64)  # a is now the most recent
    pool.get(("d",), (100,), np.float64)  # evicts b, the least recently used
    assert [key[0] for key in pool.keys()] == [("c",), ("a",), ("d",)]
    assert pool.stats()["bytes"] == 3 * 800


def test_an_array_above_the_cap_is_never_kept():
    pool = BufferPool(cap=100)
    big = pool.get(("big",), (1000,), np.float32)
    assert big.shape == (1000,) and pool.stats() == {"bytes": 0, "buffers": 0, "cap": 100}


def test_many_arrays_of_one_key_stay_under_the_cap():
    pool = BufferPool(cap=2 * 800)
    held = [pool.get(("k",), (100,), np.float64) for _ in range(4)]  # all held: each call makes a new one
    assert len({id(a) for a in held}) == 4
    assert pool.stats()["bytes"] <= 2 * 800


def test_set_cap_and_reuse_switch_and_clear():
    tc.kernels.clear_buffers()
    x, w = np.ones((3, 2, 8, 8)), np.ones((2, 2, 3, 3))
    tc.conv2d(x, w, padding=1)
    assert tc.kernels.buffer_stats()["buffers"] > 0
    cap = tc.kernels.buffer_stats()["cap"]
    tc.kernels.set_buffer_cap(0)
    try:
        assert tc.kernels.buffer_stats()["bytes"] == 0
        tc.conv2d(x, w, padding=1)
        assert tc.kernels.buffer_stats()["buffers"] == 0
    finally:
        tc.kernels.set_buffer_cap(cap)
    tc.kernels.set_buffer_reuse(False)
    try:
        tc.conv2d(x, w, padding=1)
        assert tc.kernels.buffer_stats()["buffers"] == 0
    finally:
        tc.kernels.set_buffer_reuse(True)
    tc.conv2d(x, w, padding=1)
    tc.kernels.clear_buffers()
    assert tc.kernels.buffer_stats()["bytes"] == 0
    with pytest.raises(ValueError, match="set_buffer_cap"):
        tc.kernels.set_buffer_cap(-1)
    with pytest.raises(TypeError, match="bool"):
        tc.kernels.set_buffer_reuse(1)


def test_large_op_results_reuse_memory_only_once_their_tensors_are_gone():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 6, 28, 28)).astype(np.float32)  # 1.2 MB: from the pool
    first = tc.relu(tc.Tensor(x))
    kept = first.numpy().copy()
    second = tc.relu(tc.Tensor(-x))  # the first result is alive: another array
    assert not np.shares_memory(first.numpy(), second.numpy())
    np.testing.assert_array_equal(first.numpy(), kept)
    pointer = first.numpy().__array_interface__["data"][0]
    del first
    third = tc.relu(tc.Tensor(x))
    assert third.numpy().__array_interface__["data"][0] == pointer  # reused once free
    np.testing.assert_array_equal(third.numpy(), kept)


def test_gradients_through_pooled_results_are_right_over_repeated_steps():
    rng = np.random.default_rng(1)
    x = tc.Tensor(rng.standard_normal((8, 16, 32, 32)), requires_grad=True)  # 1 MiB float64
    expected = None
    for _ in range(3):
        x.grad = None
        y = tc.max_pool2d(tc.relu(x), 2)
        z = tc.relu(-x)
        (y.sum() + tc.sigmoid(z).sum() + tc.tanh(y).sum()).backward()
        if expected is None:
            expected = x.grad.copy()
        np.testing.assert_array_equal(x.grad, expected)
    relu_x, pooled = np.maximum(x.data, 0), None
    pooled = relu_x.reshape(8, 16, 16, 2, 16, 2).max(axis=(3, 5))
    np.testing.assert_allclose(y.numpy(), pooled)


@pytest.mark.parametrize("kernel_size, stride, padding", [(2, 2, 0), (3, 2, 1), (2, 1, 0)])
def test_pooled_results_are_fully_written_even_when_fresh_memory_is_garbage(kernel_size, stride, padding):
    from tinygrad_conv.kernels.buffers import POOL

    rng = np.random.default_rng(2)
    x = rng.standard_normal((8, 16, 32, 32))  # 1 MiB: results and gradients come from the pool
    grads = []
    for poison in (False, True):
        tc.kernels.clear_buffers()
        POOL.poison = poison  # fresh pool arrays start as NaN: a skipped write shows
        try:
            t = tc.Tensor(x, requires_grad=True)
            (tc.max_pool2d(tc.relu(t), kernel_size, stride, padding) * 2).sum().backward()
            grads.append(t.grad.copy())
        finally:
            POOL.poison = False
    assert not np.isnan(grads[1]).any()
    np.testing.assert_array_equal(grads[0], grads[1])
