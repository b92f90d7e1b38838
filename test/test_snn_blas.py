# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Row-block matrix products of the compiled kernels: MKL and the compiled loop."""

import logging
import os
from pathlib import Path
import subprocess
import sys

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
def test_thread_local_blas_setting_round_trips(monkeypatch):
    monkeypatch.setattr(blas, 'USE_BLAS', True)   # also where PREDCTL_BLAS=loop
    _, set_threads = blas.gemm_addresses(np.float32)
    before = blas.set_blas_threads(set_threads, 3)
    assert blas.set_blas_threads(set_threads, before) == 3


def test_no_gemm_for_other_dtypes():
    assert blas.gemm_addresses(np.int32) == (0, 0)


@pytest.mark.parametrize('use_blas', [True, False])
def test_the_path_is_logged_once_by_name(use_blas, monkeypatch, caplog):
    monkeypatch.setattr(blas, 'USE_BLAS', use_blas)
    monkeypatch.setattr(blas, '_logged', set())
    caplog.set_level(logging.INFO, logger=blas.LOG.name)
    for dtype in (np.float32, np.float64, np.float32):
        blas.gemm_addresses(dtype)
    records = [r for r in caplog.records if r.name == blas.LOG.name]
    assert len(records) == 1, [r.getMessage() for r in records]
    assert records[0].getMessage().startswith(f'BLAS path: {blas.path()} ')
    assert blas.path() == ('mkl' if use_blas and blas.available() else 'loop')
    # A warning only where the loop runs because MKL is missing, not where it was chosen.
    missing = blas.REQUESTED != 'loop' and not blas.available()
    assert records[0].levelno == (logging.WARNING if missing else logging.INFO)


def test_missing_mkl_symbols_are_a_warning_naming_the_loop(monkeypatch, caplog):
    # A torch without MKL (other platforms), as _torch_symbols reports it.
    missing = blas._torch_symbols('sgemm_', 'no_such_symbol_in_torch')
    assert missing[0] is None and 'no_such_symbol_in_torch' in missing[1]
    monkeypatch.setattr(blas, '_MKL', None)
    monkeypatch.setattr(blas, '_MISSING', missing[1])
    monkeypatch.setattr(blas, 'REQUESTED', 'auto')
    monkeypatch.setattr(blas, 'USE_BLAS', True)
    monkeypatch.setattr(blas, '_logged', set())
    caplog.set_level(logging.INFO, logger=blas.LOG.name)
    assert blas.gemm_addresses(np.float32) == (0, 0)
    (record,) = [r for r in caplog.records if r.name == blas.LOG.name]
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith('BLAS path: loop ')
    assert 'no_such_symbol_in_torch' in record.getMessage()
    assert 'PREDCTL_BLAS=loop' in record.getMessage()


def _run_with(value, code, *args):
    # A fresh interpreter: PREDCTL_BLAS is read when the module is imported.
    env = dict(os.environ, PREDCTL_BLAS=value)
    return subprocess.run([sys.executable, '-c', code, *args], env=env, capture_output=True,
                          text=True, timeout=600)


# Gradients of a float32 recurrent layer: the spike-driven forward pass takes no product,
# so spikes are the same on both paths; the adjoint calls one row-block GEMM per step.
SCAN_GRADIENTS = """
import logging, sys
import numpy as np, torch
from predctl_ros.snn import blas, neurons
from predctl_ros.snn.scan import layer_scan, ScanConfig
from predctl_ros.snn.surrogate import Surrogate
logging.basicConfig(level=logging.INFO, format='%(name)s %(levelname)s %(message)s')
torch.manual_seed(0)
steps, batch, n = 30, 13, 96
cur = (torch.randn(steps, batch, n) * 1.5).requires_grad_()
decays = [torch.empty(n).uniform_(0.4, 0.9).requires_grad_() for _ in range(2)]
weight = (torch.randn(n, n) / n ** 0.5).requires_grad_()
state = neurons.initial_state('lif', (batch, n), dtype=torch.float32)
z0 = torch.zeros(batch, n, requires_grad=True)
cfg = ScanConfig(Surrogate('multi_gaussian', 4.0), 1, 1.0, 0.0, 0.0, False, 'dense')
spikes, final = layer_scan(cfg, cur, *decays, None, state, z0, [weight])
probe = torch.randn_like(spikes)
loss = (spikes * probe).sum() + (final.syn ** 2).sum() + 1.3 * final.mem.sum()
grads = torch.autograd.grad(loss, [cur, *decays, weight, z0])
np.savez(sys.argv[1], spikes=spikes.detach().numpy(),
         **{f'g{i}': g.numpy() for i, g in enumerate(grads)})
print(blas.path(), *blas.gemm_addresses(np.float32))
"""


def _scan_gradients(value, out: Path):
    result = _run_with(value, SCAN_GRADIENTS, str(out))
    assert result.returncode == 0, result.stderr
    return result, dict(np.load(out))


def test_forced_loop_runs_the_loop_says_so_and_matches_mkl(tmp_path):
    loop, got = _scan_gradients('loop', tmp_path / 'loop.npz')
    assert loop.stdout.split() == ['loop', '0', '0']
    logged = [line for line in loop.stderr.splitlines() if line.startswith(blas.LOG.name)]
    assert logged == [f'{blas.LOG.name} INFO BLAS path: loop (numba-compiled, chosen by '
                      'PREDCTL_BLAS=loop)'], loop.stderr
    if not blas.available():
        pytest.skip('torch carries no MKL here: nothing to compare the loop with')
    mkl, want = _scan_gradients('mkl', tmp_path / 'mkl.npz')
    assert mkl.stdout.split()[0] == 'mkl' and int(mkl.stdout.split()[1]) != 0
    assert f'{blas.LOG.name} INFO BLAS path: mkl ' in mkl.stderr
    np.testing.assert_array_equal(got['spikes'], want['spikes'])
    assert 0.05 < want['spikes'].mean() < 0.95, 'the drive should make neurons spike'
    # The paths differ only in the order in which each float32 GEMM sums its n = 96
    # products (MKL's blocking and FMAs against the loop's).  Each sum is within
    # n * 2^-24 of its exact value relative to its sum of magnitudes; over the 30 steps
    # of the adjoint these errors add, so the paths agree to 30 * 96 * 2^-24 = 1.7e-4 of
    # the gradients' scale.  A wrong product (a transposed or skipped row) is off by O(1).
    bound = 30 * 96 * 2.0 ** -24
    for key in want:
        if key == 'spikes':
            continue
        scale = np.abs(want[key]).max()
        assert scale > 0
        np.testing.assert_allclose(got[key], want[key], rtol=0, atol=bound * scale,
                                   err_msg=key)


def test_pinned_mkl_and_bad_values_are_checked_at_import():
    code = 'from predctl_ros.snn import blas; print(blas.path())'
    pinned = _run_with('mkl', code)
    if blas.available():
        assert pinned.returncode == 0 and pinned.stdout.split() == ['mkl'], pinned.stderr
    else:
        assert pinned.returncode != 0 and 'PREDCTL_BLAS=mkl, but' in pinned.stderr
    auto = _run_with('auto', code)
    assert auto.stdout.split() == ['mkl' if blas.available() else 'loop'], auto.stderr
    bad = _run_with('openblas', code)
    assert bad.returncode != 0
    assert "PREDCTL_BLAS='openblas': must be one of auto, mkl, loop" in bad.stderr
