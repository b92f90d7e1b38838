# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Matrix products of a block of batch rows inside compiled kernels.

The recurrent layer's adjoint needs one product per SNN step, inside a parallel
region where each thread owns a block of batch rows.  A loop compiled by numba
reaches about a third of the speed of a tuned GEMM on this product, so the kernels
call the MKL that the PyTorch CPU wheel links in (its Fortran ``sgemm_`` /
``dgemm_``), sequential in the calling thread.  Where torch carries no MKL (other
platforms) the compiled loop serves instead; the results agree to rounding.

Those symbols are not part of torch's API, so the path is chosen once, at import, by
the environment variable ``PREDCTL_BLAS``:

* unset or ``auto``: MKL where torch's library exports the symbols, else the loop;
* ``loop``: the compiled loop even where MKL is there (to test or compare that path);
* ``mkl``: MKL, and importing this module fails where torch carries none.

The first time a kernel asks for a float path, the module's logger
(``predctl_ros.snn.blas``) names it once: ``BLAS path: mkl`` or ``BLAS path: loop``,
at info level, or as a warning when the loop runs only because MKL is missing.

Function addresses are passed to the kernels as integers, so that the kernels stay
cacheable (numba does not cache code that embeds a ctypes function pointer).
"""

import ctypes
import logging
import os

from llvmlite import ir
import numba
from numba import types
from numba.extending import intrinsic
import numpy as np
import torch

LOG = logging.getLogger(__name__)
ENV = 'PREDCTL_BLAS'
"""Environment variable that chooses the path: auto, mkl or loop."""
PATHS = ('auto', 'mkl', 'loop')


def _torch_symbols(*names):
    # (addresses, None) of the named symbols in libtorch_cpu, or (None, why not).
    path = os.path.join(os.path.dirname(torch.__file__), 'lib', 'libtorch_cpu.so')
    try:
        lib = ctypes.CDLL(path)
        return [ctypes.cast(getattr(lib, name), ctypes.c_void_p).value for name in names], None
    except (OSError, AttributeError) as exc:
        return None, f'{path} lacks MKL ({exc})'


# MKL only: its thread-local thread count lets each kernel thread run the GEMM
# sequentially (another BLAS would start its own threads inside ours).
_MKL, _MISSING = _torch_symbols('sgemm_', 'dgemm_', 'mkl_set_num_threads_local')


def _requested():
    value = os.environ.get(ENV, '').strip().lower() or 'auto'
    if value not in PATHS:
        raise ValueError(f'{ENV}={os.environ[ENV]!r}: must be one of {", ".join(PATHS)}')
    if value == 'mkl' and _MKL is None:
        raise RuntimeError(f'{ENV}=mkl, but {_MISSING}')
    return value


REQUESTED = _requested()
"""The value of PREDCTL_BLAS at import: 'auto', 'mkl' or 'loop'."""
# Switch for tests and benchmarks (set from PREDCTL_BLAS); no effect where torch carries
# no MKL.
USE_BLAS = REQUESTED != 'loop'
# Paths already logged: each is named once per process, also after USE_BLAS changes.
_logged = set()


def available() -> bool:
    """
    Tell whether the kernels can call MKL's GEMM here.

    :return: True when torch's library exports the MKL symbols (whatever PREDCTL_BLAS).
    """
    return _MKL is not None


def path() -> str:
    """
    Name the path the kernels' products take now.

    :return: 'mkl' or 'loop'.
    """
    return 'mkl' if _MKL is not None and USE_BLAS else 'loop'


def _log_path(current):
    if current in _logged:
        return
    _logged.add(current)
    if current == 'mkl':
        LOG.info("BLAS path: mkl (sgemm_/dgemm_ of torch's libtorch_cpu; %s=loop selects the "
                 'compiled loop)', ENV)
    elif REQUESTED == 'loop':
        LOG.info('BLAS path: loop (numba-compiled, chosen by %s=loop)', ENV)
    elif _MKL is None:
        # Not chosen: the kernels run about 3x slower than their tuned path.
        LOG.warning('BLAS path: loop (numba-compiled, about 3x slower than MKL): %s; '
                    '%s=loop selects it without this warning', _MISSING, ENV)
    else:
        LOG.info('BLAS path: loop (numba-compiled, chosen by blas.USE_BLAS = False)')


def gemm_addresses(dtype):
    """
    Return the addresses (gemm, set_num_threads_local) for a kernel, or (0, 0).

    The first call for a float dtype logs the path (see the module docstring).

    :param dtype: numpy dtype of the operands.
    :return: two ints; 0 means the kernel uses its compiled loop.
    """
    if np.dtype(dtype) not in (np.float32, np.float64):
        return 0, 0
    current = path()
    _log_path(current)
    if current == 'loop':
        return 0, 0
    gemm = _MKL[0] if np.dtype(dtype) == np.float32 else _MKL[1]
    return gemm, _MKL[2]


@intrinsic
def _call_gemm(typingctx, fn, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
    # Call a Fortran ?gemm_ at address fn; every argument is an address.
    args = (fn, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    if not all(isinstance(t, types.Integer) for t in args):
        return None

    def codegen(context, builder, sig, llargs):
        ptr = ir.IntType(8).as_pointer()
        fnty = ir.FunctionType(ir.VoidType(), [ptr] * 13)
        target = builder.inttoptr(llargs[0], fnty.as_pointer())
        builder.call(target, [builder.inttoptr(v, ptr) for v in llargs[1:]])
        return context.get_dummy_value()

    return types.void(*args), codegen


@intrinsic
def _call_int_ptr(typingctx, fn, p):
    # Call int fn(int *p) at address fn (MKL's Fortran-style mkl_set_num_threads_local).
    if not (isinstance(fn, types.Integer) and isinstance(p, types.Integer)):
        return None

    def codegen(context, builder, sig, llargs):
        fnty = ir.FunctionType(ir.IntType(32), [ir.IntType(32).as_pointer()])
        target = builder.inttoptr(llargs[0], fnty.as_pointer())
        return builder.call(target, [builder.inttoptr(llargs[1], ir.IntType(32).as_pointer())])

    return types.int32(fn, p), codegen


@numba.njit(cache=True)
def set_blas_threads(set_threads, count):
    """
    Set the calling thread's MKL thread count.

    :param set_threads: address of mkl_set_num_threads_local (0: no-op).
    :param count: threads; 0 returns to the global setting.
    :return: the previous thread-local count (0 when set_threads is 0).
    """
    if set_threads == 0:
        return 0
    cell = np.empty(1, dtype=np.int32)
    cell[0] = count
    return _call_int_ptr(set_threads, cell.ctypes.data)


@numba.njit(fastmath={'reassoc', 'contract'}, cache=True)
def _rows_dot(a, lo, hi, w_t, out):
    # out[r, i] = a[r] . w_t[i]; four rows share each pass over a row of w_t.
    m_out, n = w_t.shape
    r = lo
    while r + 4 <= hi:
        a0, a1, a2, a3 = a[r], a[r + 1], a[r + 2], a[r + 3]
        for i in range(m_out):
            w_i = w_t[i]
            s0, s1, s2, s3 = a0[0] * w_i[0], a1[0] * w_i[0], a2[0] * w_i[0], a3[0] * w_i[0]
            for j in range(1, n):
                wj = w_i[j]
                s0 += a0[j] * wj
                s1 += a1[j] * wj
                s2 += a2[j] * wj
                s3 += a3[j] * wj
            out[r, i], out[r + 1, i], out[r + 2, i], out[r + 3, i] = s0, s1, s2, s3
        r += 4
    while r < hi:
        a0 = a[r]
        for i in range(m_out):
            w_i = w_t[i]
            s0 = a0[0] * w_i[0]
            for j in range(1, n):
                s0 += a0[j] * w_i[j]
            out[r, i] = s0
        r += 1


@numba.njit(cache=True)
def matmul_rows(a, lo, hi, w_t, out, gemm):
    """
    Set out[lo:hi] = a[lo:hi] @ w_t.T for C-contiguous 2-D operands.

    :param a: left operand [B, K].
    :param lo: first row.
    :param hi: end row (exclusive).
    :param w_t: right operand transposed, one output column per row [M, K].
    :param out: destination [B, M].
    :param gemm: address of ?gemm_ for the operands' dtype (0: compiled loop).
    """
    if hi <= lo:
        return
    if gemm == 0:
        _rows_dot(a, lo, hi, w_t, out)
        return
    m_out, k = w_t.shape
    # Column-major view: out^T [M, rows] = (w_t viewed as [K, M])^T @ a^T [K, rows].
    dims = np.empty(5, dtype=np.int32)
    dims[0], dims[1], dims[2], dims[3], dims[4] = m_out, hi - lo, k, k, m_out
    scalars = np.empty(2, dtype=a.dtype)
    scalars[0], scalars[1] = 1.0, 0.0
    flags = np.empty(2, dtype=np.uint8)
    flags[0], flags[1] = ord('T'), ord('N')
    dp, sp, fp = dims.ctypes.data, scalars.ctypes.data, flags.ctypes.data
    _call_gemm(gemm, fp, fp + 1, dp, dp + 4, dp + 8, sp, w_t.ctypes.data, dp + 12,
               a[lo:].ctypes.data, dp + 12, sp + a.itemsize, out[lo:].ctypes.data, dp + 16)
