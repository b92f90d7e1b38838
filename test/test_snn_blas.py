# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Row-block matrix products of the compiled kernels: MKL and the compiled loop."""

import numpy as np
from predctl_ros.snn import blas
import pytest

needs_mkl = pytest.mark.skipif(not blas.available(), reason='torch carries no MKL here')


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
@pytest.mark.parametrize('use_blas', [True, False])
@pytest.mark.parametrize('rows', [(0, 11), (3, 9), (5, 6), (4, 4)])
def test_matmul_rows_matches_numpy_on_the_row_block_only(dtype, use_blas, rows, monkeypatch):
    monkeypatch.setattr(blas, 'USE_BLAS', use_blas)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((11, 37)).astype(dtype)
    w_t = rng.standard_normal((23, 37)).astype(dtype)
    out = np.full((11, 23), 7.0, dtype=dtype)
    gemm, _ = blas.gemm_addresses(dtype)
    assert (gemm != 0) == (use_blas and blas.available())
    lo, hi = rows
    blas.matmul_rows(a, lo, hi, w_t, out, gemm)
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out[lo:hi], a[lo:hi] @ w_t.T, rtol=tol, atol=tol)
    # Rows outside the block are left as they were.
    assert (np.delete(out, np.s_[lo:hi], axis=0) == 7.0).all()


@needs_mkl
def test_thread_local_blas_setting_round_trips():
    _, set_threads = blas.gemm_addresses(np.float32)
    before = blas.set_blas_threads(set_threads, 3)
    assert blas.set_blas_threads(set_threads, before) == 3


def test_no_gemm_for_other_dtypes():
    assert blas.gemm_addresses(np.int32) == (0, 0)
