"""kernels.products.matmul: the same numbers as np.matmul, split by rows or columns or not at all."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_conv as tc
from tinygrad_conv.kernels.products import matmul


@pytest.fixture(params=[1, 2, 3], ids=lambda n: f"{n}threads")
def num_threads(request):
    tc.kernels.set_num_threads(request.param)
    yield request.param
    tc.kernels.set_num_threads(None)


@pytest.mark.parametrize("shapes", [
    ((3, 4), (4, 2)),  # small: one plain call
    ((300, 200), (200, 150)),  # split by rows
    ((4, 2000), (2000, 900)),  # fewer rows than columns: split by columns
    ((2, 70, 90), (90, 80)),  # a batch, broadcast
    ((70, 90), (3, 90, 80)),
    ((5,), (5, 3)),
    ((500, 400), (400,)),
])
def test_matmul_matches_numpy(shapes, num_threads):
    rng = np.random.default_rng(1)
    a, b = (rng.standard_normal(s) for s in shapes)
    with tc.kernels.tuning(split_min_flops=0):
        got = matmul(a, b)
    expected = np.matmul(a, b)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_matmul_keeps_float32():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((300, 200), dtype=np.float32), rng.standard_normal((200, 100), dtype=np.float32)
    with tc.kernels.tuning(split_min_flops=0):
        assert matmul(a, b).dtype == np.float32


def test_a_large_matrix_vector_product_runs_on_one_blas_thread(monkeypatch):
    from tinygrad_conv.kernels import products

    opened = []

    class Region:
        def __enter__(self):
            opened.append(True)

        def __exit__(self, *exc):
            return None

    monkeypatch.setattr(products, "blas_one_thread", Region)
    rng = np.random.default_rng(3)
    a, v = rng.standard_normal((1024, 512)), rng.standard_normal(512)
    np.testing.assert_allclose(matmul(a, v), a @ v, rtol=1e-12)
    np.testing.assert_allclose(matmul(v[:4], a[:4, :3]), v[:4] @ a[:4, :3], rtol=1e-12)  # small: no region
    assert opened == [True]
