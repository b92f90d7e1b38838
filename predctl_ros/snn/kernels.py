# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Compiled CPU kernels of the layer scan (forward and adjoint), whole sequences per call.

On a CPU, each PyTorch op over a [B, N] slab costs a fixed dispatch overhead
and a full trip through memory; a neuron update is a dozen such ops.  These
kernels fuse the whole update (and the whole adjoint, surrogate included) into
one pass per SNN step and accumulate the decay gradients on the fly.

Batch rows never interact, so every kernel splits the rows into one block per
thread and runs each block through all steps in a single parallel region, with
no synchronisation between steps.  The recurrent layers' per-step products are
inside the kernels too: spike-driven in the forward pass (one weight row added
per spike), a GEMM of the block's rows in the adjoint (:mod:`.blas`).  The
equations are those of :mod:`predctl_ros.snn.neurons`; tests compare both.
"""

import math

from llvmlite import ir
import numba
from numba import prange, types
from numba.extending import intrinsic, overload
import numpy as np

from predctl_ros.snn.blas import matmul_rows, set_blas_threads
from predctl_ros.snn.surrogate import MULTI_GAUSSIAN_HEIGHT, MULTI_GAUSSIAN_SCALE

SURROGATE_CODES = {'multi_gaussian': 0, 'fast_sigmoid': 1, 'atan': 2, 'sigmoid': 3}


def surrogate_constants(name: str, sharpness: float, dtype=np.float64) -> np.ndarray:
    """
    Pack the constants a kernel needs to evaluate a surrogate derivative.

    :param name: surrogate name.
    :param sharpness: surrogate sharpness.
    :param dtype: working precision of the kernel (float32 math is twice as wide in SIMD).
    :return: array [code, c0, c1, c2, c3, c4] of dtype.
    """
    code = SURROGATE_CODES[name]
    out = np.zeros(6)
    out[0] = code
    if code == 0:
        sigma, h, s = 1.0 / sharpness, MULTI_GAUSSIAN_HEIGHT, MULTI_GAUSSIAN_SCALE
        root = math.sqrt(2.0 * math.pi)
        peak = (1.0 + h) / (sigma * root) - 2.0 * h * math.exp(-0.5 / s ** 2) / (s * sigma * root)
        out[1] = (1.0 + h) / (sigma * root) / peak
        out[2] = h / (s * sigma * root) / peak
        out[3] = 0.5 / sigma ** 2
        out[4] = 0.5 / (s * sigma) ** 2
        out[5] = sigma
    elif code == 2:
        out[1] = 0.5 * math.pi * sharpness
    else:
        out[1] = sharpness
    return out.astype(dtype)


@numba.njit(inline='always')
def exp_neg(y):
    """
    Return e^y for y <= 0 to ~1e-14 relative error, in a form LLVM can vectorise.

    libm's exp is a call the compiler cannot vectorise; this is range reduction
    e^y = 2^-m e^r with |r| <= ln2 / 2, a degree-11 Taylor polynomial, and 2^-m put
    into the exponent bits.

    :param y: exponent, <= 0 (clamped at -700).
    :return: e^y.
    """
    y = max(y, -700.0)
    m = int(-y * 1.4426950408889634 + 0.5)
    r = y + m * 0.6931471803691238 + m * 1.9082149292705877e-10
    p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120 + r * (
        1.0 / 720 + r * (1.0 / 5040 + r * (1.0 / 40320 + r * (1.0 / 362880 + r * (
            1.0 / 3628800 + r / 39916800))))))))))
    return _times_pow2(p, np.int64(-m))


@intrinsic
def _times_pow2(typingctx, p, n):
    # p * 2^n for float32 p and int32 n (or float64 and int64), by adding n to p's exponent
    # field: valid while the result stays a normal float, which the exps' clamps guarantee.
    if (p, n) == (types.float32, types.int32):
        width, mantissa, float_type = 32, 23, ir.FloatType()
    elif (p, n) == (types.float64, types.int64):
        width, mantissa, float_type = 64, 52, ir.DoubleType()
    else:
        return None

    def codegen(context, builder, sig, args):
        int_type = ir.IntType(width)
        exponent = builder.shl(args[1], ir.Constant(int_type, mantissa))
        bits = builder.add(builder.bitcast(args[0], int_type), exponent)
        return builder.bitcast(bits, float_type)

    return p(p, n), codegen


@numba.njit(inline='always')
def exp_neg32(y):
    """
    Return e^y for float32 y <= 0 in float32, in a form LLVM vectorises.

    Range reduction e^y = 2^n e^r with |r| <= ln2 / 2 (ln2 split in two for accuracy), a
    degree-6 polynomial for e^r (Cephes' expf coefficients) and 2^n put into the exponent
    bits.  Relative error about 1e-7.

    :param y: exponent, <= 0 (clamped at -80, where e^y is far below any gradient).
    :return: e^y as float32.
    """
    y = max(y, np.float32(-80.0))
    n = np.int32(y * np.float32(1.4426950408889634) - np.float32(0.5))
    nf = np.float32(n)
    r = y - nf * np.float32(0.693359375) + nf * np.float32(2.12194440e-4)
    p = np.float32(1.9875691500e-4)
    p = p * r + np.float32(1.3981999507e-3)
    p = p * r + np.float32(8.3334519073e-3)
    p = p * r + np.float32(4.1665795894e-2)
    p = p * r + np.float32(1.6666665459e-1)
    p = p * r + np.float32(5.0000001201e-1)
    p = p * r * r + r + np.float32(1.0)
    return _times_pow2(p, n)


def exp_neg_as(y, like):
    """
    Return e^y at the precision of like's type (float32 or float64).

    :param y: exponent, <= 0.
    :param like: a scalar of the working dtype.
    :return: e^y.
    """
    return math.exp(y)


@overload(exp_neg_as, inline='always')
def _exp_neg_as(y, like):
    if like == types.float32:
        return lambda y, like: exp_neg32(y)
    return lambda y, like: exp_neg(y)


TINY = 1e-30
REC_NONE, REC_DENSE, REC_LOW_RANK = 0, 1, 2
"""Recurrence of a layer, as the backward kernel takes it."""


def _flush(x):
    return x if abs(x) > TINY else x * 0.0


@overload(_flush)
def _flush_typed(x):
    # Compare and zero in x's own precision: a float64 constant would widen float32 math.
    if x == types.float32:
        tiny, zero = np.float32(TINY), np.float32(0.0)
    else:
        tiny, zero = TINY, 0.0
    return lambda x: x if abs(x) > tiny else zero


@numba.njit(inline='always')
def _surrogate(x, sp):
    code = sp[0]
    if code == 0.0:
        return (sp[1] * exp_neg(-sp[3] * x * x)
                - sp[2] * (exp_neg(-sp[4] * (x - sp[5]) ** 2)
                           + exp_neg(-sp[4] * (x + sp[5]) ** 2)))
    if code == 1.0:
        d = 1.0 + sp[1] * abs(x)
        return 1.0 / (d * d)
    if code == 2.0:
        y = sp[1] * x
        return 1.0 / (1.0 + y * y)
    e = exp_neg(-sp[1] * abs(x))   # 4 s(bx)(1 - s(bx)) = 4 e / (1 + e)^2, e = exp(-b|x|)
    return 4.0 * e / ((1.0 + e) * (1.0 + e))


@numba.njit(inline='always')
def _forward_row(k, r, cur_row, syn0, mem, ada0, base, decay_syn, decay_mem, decay_ada,
                 threshold, adaptation, silent_decay, alif, spikes, volt, syn_all, theta_all,
                 ada_all):
    # One neuron update of batch row r at step k, given its total input current.  The
    # constants are float32: a float64 literal would widen float32 math (and float32
    # widens exactly where the arrays are float64).
    n = mem.shape[1]
    one, zero = np.float32(1.0), np.float32(0.0)
    syn_prev = syn0[r] if k == 0 else syn_all[k - 1, r]
    mem_r, syn_k, volt_k, z_k = mem[r], syn_all[k, r], volt[k, r], spikes[k, r]
    if not alif:
        # Branch-free, so that LLVM vectorises it.
        for i in range(n):
            s = decay_syn[i] * syn_prev[i] + cur_row[i]
            syn_k[i] = s
            v = decay_mem[i] * mem_r[i] + (one - decay_mem[i]) * s
            volt_k[i] = v
            z = one if v > threshold else zero
            z_k[i] = z
            mem_r[i] = v - z * threshold
        return
    ada_prev = ada0[r] if k == 0 else ada_all[k - 1, r]
    base_r, theta_k, ada_k = base[r], theta_all[k, r], ada_all[k, r]
    for i in range(n):
        s = decay_syn[i] * syn_prev[i] + cur_row[i]
        syn_k[i] = s
        v = decay_mem[i] * mem_r[i] + (one - decay_mem[i]) * s
        volt_k[i] = v
        theta = base_r[i] + adaptation * ada_prev[i]
        theta_k[i] = theta
        z = one if v > theta else zero
        z_k[i] = z
        mem_r[i] = v - z * theta
        ada_k[i] = decay_ada[i] * ada_prev[i] + z
    if silent_decay > zero:
        for i in range(n):
            if z_k[i] > zero:
                base_r[i] = threshold
            else:
                base_r[i] = max(base_r[i] - silent_decay, zero)


@numba.njit(inline='always')
def _add_active_rows(z, w, out, active):
    # out += z @ w, visiting only the rows of w whose presynaptic neuron spiked, two
    # rows per pass over out (the pass is bound by cache bandwidth); active is scratch.
    count = 0
    for i in range(z.shape[0]):
        if z[i] != 0.0:
            active[count] = i
            count += 1
    n = out.shape[0]
    q = 0
    while q + 1 < count:
        i0, i1 = active[q], active[q + 1]
        z0, z1, row0, row1 = z[i0], z[i1], w[i0], w[i1]
        for j in range(n):
            out[j] += z0 * row0[j] + z1 * row1[j]
        q += 2
    if q < count:
        zq, row = z[active[q]], w[active[q]]
        for j in range(n):
            out[j] += zq * row[j]


@numba.njit(parallel=True, cache=True)
def forward_steps(cur, repeat, syn0, mem, ada0, base, decay_syn, decay_mem, decay_ada,
                  threshold, adaptation, silent_decay, alif, spikes, volt, syn_all, theta_all,
                  ada_all, rec, z0, w_in, w_out, hidden_all, rec_cur, gemm, set_threads,
                  chunks):
    """
    Run every SNN step of a layer; cur[k // repeat] is the feed-forward input of step k.

    Batch rows never interact, so each thread runs its block of rows through all steps
    with no synchronisation.  A recurrent current adds one weight row per spike of the
    previous step (spikes are sparse), instead of a dense matrix product; with low rank
    the spikes build the latent that way and one GEMM of the block's rows expands it.

    :param cur: input currents [T / repeat, B, N].
    :param repeat: steps per input entry.
    :param syn0: synaptic current before step 0 [B, N].
    :param mem: membrane state [B, N], updated in place.
    :param ada0: adaptation trace before step 0 [B, N] (ALIF).
    :param base: threshold base [B, N], updated in place (ALIF).
    :param decay_syn: synaptic decays [N].
    :param decay_mem: membrane decays [N].
    :param decay_ada: adaptation decays [N] (ALIF).
    :param threshold: theta_0.
    :param adaptation: xi.
    :param silent_decay: threshold-base decrement per silent step.
    :param alif: adaptive neurons.
    :param spikes: output spikes [T, B, N].
    :param volt: output pre-reset membrane [T, B, N].
    :param syn_all: output synaptic currents [T, B, N].
    :param theta_all: output thresholds [T, B, N] (ALIF).
    :param ada_all: output adaptation traces [T, B, N] (ALIF).
    :param rec: recurrence: REC_NONE, REC_DENSE or REC_LOW_RANK.
    :param z0: spikes before step 0 [B, N] (recurrent).
    :param w_in: dense: W^T [N, N]; low rank: W1^T [N, d] (rows indexed by presynaptic
        neuron).
    :param w_out: low rank: W2 [N, d].
    :param hidden_all: output latent z_{k-1} W1^T per step [T, B, d] (low rank).
    :param rec_cur: scratch [B, N] for the low-rank expansion.
    :param gemm: address of ?gemm_ (see :mod:`predctl_ros.snn.blas`; 0: compiled loop).
    :param set_threads: address of mkl_set_num_threads_local (0 with gemm 0).
    :param chunks: blocks of rows processed in parallel.
    """
    batch, n = mem.shape
    low_rank = rec == REC_LOW_RANK
    for c in prange(chunks):
        lo, hi = c * batch // chunks, (c + 1) * batch // chunks
        current = np.empty(n, dtype=mem.dtype)
        active = np.empty(n, dtype=np.int64)
        previous = set_blas_threads(set_threads, 1) if low_rank else 0
        for k in range(spikes.shape[0]):
            if low_rank:
                for r in range(lo, hi):
                    h = hidden_all[k, r]
                    h[:] = 0.0
                    _add_active_rows(z0[r] if k == 0 else spikes[k - 1, r], w_in, h, active)
                matmul_rows(hidden_all[k], lo, hi, w_out, rec_cur, gemm)
            for r in range(lo, hi):
                src = cur[k // repeat, r]
                if rec == REC_NONE:
                    drive = src
                else:
                    drive = current
                    if low_rank:
                        row = rec_cur[r]
                        for j in range(n):
                            current[j] = src[j] + row[j]
                    else:
                        for j in range(n):
                            current[j] = src[j]
                        _add_active_rows(z0[r] if k == 0 else spikes[k - 1, r], w_in, current,
                                         active)
                _forward_row(k, r, drive, syn0, mem, ada0, base, decay_syn, decay_mem,
                             decay_ada, threshold, adaptation, silent_decay, alif, spikes, volt,
                             syn_all, theta_all, ada_all)
        if low_rank:
            set_blas_threads(set_threads, previous)


@numba.njit(fastmath={'contract'}, cache=True)
def _surrogate_row(volt, theta, threshold, alif, sp, out):
    # One simple loop per shape so that LLVM vectorises it (exp_neg included).
    n = out.shape[0]
    code = sp[0]
    if alif:
        for i in range(n):
            out[i] = volt[i] - theta[i]
    else:
        for i in range(n):
            out[i] = volt[i] - threshold
    if code == 0.0:
        c1, c2, c3, c4, sigma = sp[1], sp[2], sp[3], sp[4], sp[5]
        for i in range(n):
            x = out[i]
            left, right = x - sigma, x + sigma   # products, not ** 2: powi does not vectorise
            out[i] = (c1 * exp_neg_as(-c3 * x * x, x)
                      - c2 * (exp_neg_as(-c4 * left * left, x)
                              + exp_neg_as(-c4 * right * right, x)))
    else:
        for i in range(n):
            out[i] = _surrogate(out[i], sp)


@numba.njit(fastmath={'contract'}, cache=True)
def _backward_row(k, r, g_spikes, has_g_spikes, g_rec_row, has_g_rec, volt, theta_all, spikes,
                  syn_all, ada_all, syn0, mem0, ada0, decay_syn, decay_mem, one_minus_mem,
                  decay_ada, threshold, adaptation, alif, sp, g_syn, g_mem, g_ada, g_cur,
                  acc_syn, acc_mem, acc_ada, decay_grads, g_volt_in, has_g_volt, scratch):
    # The adjoint of one neuron update (batch row r, step k); scratch is [3, N].  Without
    # decay_grads (time constants frozen) the decay gradients' sums are skipped and the
    # acc arrays are not touched (they may be empty).
    n = g_syn.shape[1]
    surr, g_z, mem_prev = scratch[0], scratch[1], scratch[2]
    theta_row = theta_all[k, r] if alif else volt[k, r]
    _surrogate_row(volt[k, r], theta_row, threshold, alif, sp, surr)
    # dL/dz_k from the outputs, the recurrence and (ALIF) the adaptation trace.
    if has_g_spikes and has_g_rec:
        gsk = g_spikes[k, r]
        for i in range(n):
            g_z[i] = gsk[i] + g_rec_row[i]
    elif has_g_spikes:
        gsk = g_spikes[k, r]
        for i in range(n):
            g_z[i] = gsk[i]
    elif has_g_rec:
        for i in range(n):
            g_z[i] = g_rec_row[i]
    else:
        for i in range(n):
            g_z[i] = 0.0
    if alif:
        g_n = g_ada[r]
        for i in range(n):
            g_z[i] += g_n[i]
    gs, gm, gc = g_syn[r], g_mem[r], g_cur[k, r]
    if has_g_volt:
        # A direct gradient on v_k joins the carried one (g^v_k = ... + e_k).
        gvi = g_volt_in[k, r]
        for i in range(n):
            gm[i] += gvi[i]
    # Short loops over few arrays: LLVM vectorises a loop only if it can check all its
    # arrays for overlap, which it gives up on beyond a handful.  surr becomes
    # g^z_k S_k, g_z becomes g^v_k.
    for i in range(n):
        gzs = _flush(g_z[i] * surr[i])
        surr[i] = gzs
        g_z[i] = gzs + gm[i]
    for i in range(n):
        gv = g_z[i]
        gi = gs[i] + one_minus_mem[i] * gv
        gc[i] = gi
        # Adjoints that decay below TINY are flushed to 0: denormal floats would make
        # each operation on them ~100x slower.
        gs[i] = _flush(decay_syn[i] * gi)
        gm[i] = _flush(decay_mem[i] * gv)
    if decay_grads:
        _decay_sums(k, r, volt, theta_all, spikes, syn_all, ada_all, syn0, mem0, ada0,
                    threshold, alif, g_ada, g_cur, g_z, acc_syn, acc_mem, acc_ada, mem_prev)
    if alif:
        g_n = g_ada[r]
        for i in range(n):
            g_n[i] = _flush(decay_ada[i] * g_n[i] - adaptation * surr[i])


@numba.njit(fastmath={'contract'}, cache=True)
def _decay_sums(k, r, volt, theta_all, spikes, syn_all, ada_all, syn0, mem0, ada0, threshold,
                alif, g_ada, g_cur, g_v, acc_syn, acc_mem, acc_ada, scratch):
    # Add step k's terms of the decay gradients (row r): dL/dI_k syn_{k-1},
    # dL/dv_k (mem_{k-1} - syn_k) and (ALIF) dL/dn_k n_{k-1}, the latter before g_ada
    # moves on to step k - 1.  scratch [N] holds mem_{k-1} when it must be rebuilt.
    n = scratch.shape[0]
    syn_prev = syn0[r] if k == 0 else syn_all[k - 1, r]
    if k == 0:
        mem_prev = mem0[r]
    else:
        mem_prev = scratch
        v_prev, z_prev = volt[k - 1, r], spikes[k - 1, r]
        if alif:
            th_prev = theta_all[k - 1, r]
            for i in range(n):
                mem_prev[i] = v_prev[i] - th_prev[i] * z_prev[i]
        else:
            for i in range(n):
                mem_prev[i] = v_prev[i] - threshold * z_prev[i]
    acs, acm, gc, syn_k = acc_syn[r], acc_mem[r], g_cur[k, r], syn_all[k, r]
    for i in range(n):
        acs[i] += gc[i] * syn_prev[i]
    for i in range(n):
        acm[i] += g_v[i] * (mem_prev[i] - syn_k[i])
    if alif:
        g_n, ada_prev, aca = g_ada[r], ada0[r] if k == 0 else ada_all[k - 1, r], acc_ada[r]
        for i in range(n):
            aca[i] += g_n[i] * ada_prev[i]


@numba.njit(parallel=True, cache=True)
def backward_steps(g_spikes, has_g_spikes, volt, theta_all, spikes, syn_all, ada_all, syn0,
                   mem0, ada0, decay_syn, decay_mem, decay_ada, threshold, adaptation, alif, sp,
                   g_syn, g_mem, g_ada, g_cur, acc_syn, acc_mem, acc_ada, decay_grads, g_volt_in,
                   has_g_volt, rec, w_in, w_out_t, proj_all, g_rec, gemm, set_threads, chunks):
    """
    Back-propagate every step of a layer (reset detached), its recurrent product included.

    Accumulates the decay gradients on the way.  As in the forward pass each thread
    carries its block of rows through all steps; for a recurrent layer the product
    dL/dz_{k-1} = dL/dI_k W of each step is one GEMM over the block's rows.

    :param g_spikes: dL/dz from the layer's outputs [T, B, N].
    :param has_g_spikes: whether g_spikes is given.
    :param volt: pre-reset membrane [T, B, N].
    :param theta_all: thresholds [T, B, N] (ALIF).
    :param spikes: spikes [T, B, N].
    :param syn_all: synaptic currents [T, B, N].
    :param ada_all: adaptation traces [T, B, N] (ALIF).
    :param syn0: synaptic current before step 0.
    :param mem0: membrane before step 0.
    :param ada0: adaptation before step 0 (ALIF).
    :param decay_syn: synaptic decays [N].
    :param decay_mem: membrane decays [N].
    :param decay_ada: adaptation decays [N].
    :param threshold: theta_0 (LIF threshold).
    :param adaptation: xi.
    :param alif: adaptive neurons.
    :param sp: surrogate constants from surrogate_constants.
    :param g_syn: adjoint of syn carried backwards [B, N], in place.
    :param g_mem: adjoint of mem carried backwards [B, N], in place.
    :param g_ada: adjoint of the adaptation trace [B, N], in place (ALIF).
    :param g_cur: output dL/dI_k [T, B, N].
    :param acc_syn: running sum of dL/dI_k * syn_{k-1} [B, N].
    :param acc_mem: running sum of dL/dv_k * (mem_{k-1} - syn_k) [B, N].
    :param acc_ada: running sum of dL/dn_k * n_{k-1} [B, N] (ALIF).
    :param decay_grads: accumulate acc_syn, acc_mem and acc_ada (False: time constants
        frozen, the sums are skipped and the acc arrays may be empty).
    :param g_volt_in: dL/dv_k from the layer's membrane output [T, B, N].
    :param has_g_volt: whether g_volt_in is given.
    :param rec: recurrence: REC_NONE, REC_DENSE or REC_LOW_RANK.
    :param w_in: the forward pass's operand: W^T [N, N], or W1^T [N, d] (low rank).
    :param w_out_t: low rank: W2^T [d, N].
    :param proj_all: output dL/dI_k W2 per step [T, B, d] (low rank).
    :param g_rec: [B, N] zeros in; out: dL/dz0 through the recurrence of step 0.
    :param gemm: address of ?gemm_ (see :mod:`predctl_ros.snn.blas`; 0: compiled loop).
    :param set_threads: address of mkl_set_num_threads_local (0 with gemm 0).
    :param chunks: blocks of rows processed in parallel.
    """
    batch, n = g_syn.shape
    recurrent = rec != REC_NONE
    for c in prange(chunks):
        lo, hi = c * batch // chunks, (c + 1) * batch // chunks
        scratch = np.empty((3, n), dtype=volt.dtype)
        one_minus_mem = (1.0 - decay_mem).astype(volt.dtype)
        # Sequential GEMM in this thread; the previous setting is restored (torch's own).
        previous = set_blas_threads(set_threads, 1) if recurrent else 0
        for k in range(spikes.shape[0] - 1, -1, -1):
            for r in range(lo, hi):
                # Without recurrence g_syn[r] stands in for the absent g_rec[r].
                carried = g_rec[r] if recurrent else g_syn[r]
                _backward_row(k, r, g_spikes, has_g_spikes, carried, recurrent, volt,
                              theta_all, spikes, syn_all, ada_all, syn0, mem0, ada0, decay_syn,
                              decay_mem, one_minus_mem, decay_ada, threshold, adaptation, alif,
                              sp, g_syn, g_mem, g_ada, g_cur, acc_syn, acc_mem, acc_ada,
                              decay_grads, g_volt_in, has_g_volt, scratch)
            if rec == REC_LOW_RANK:
                matmul_rows(g_cur[k], lo, hi, w_out_t, proj_all[k], gemm)
                matmul_rows(proj_all[k], lo, hi, w_in, g_rec, gemm)
            elif rec == REC_DENSE:
                matmul_rows(g_cur[k], lo, hi, w_in, g_rec, gemm)
        if recurrent:
            set_blas_threads(set_threads, previous)
