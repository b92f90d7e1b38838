# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Compiled CPU kernels of the layer scan (forward and adjoint), one pass per step.

On a CPU, each PyTorch op over a [B, N] slab costs a fixed dispatch overhead
and a full trip through memory; a neuron update is a dozen such ops.  These
kernels fuse the whole update (and the whole adjoint, surrogate included) into
one pass per SNN step, parallel over batch rows, and accumulate the decay
gradients on the fly.  Feed-forward layers run all steps in one call.  The
equations are those of :mod:`predctl_ros.snn.neurons`; tests compare both.
"""

import math

import numba
from numba import prange, types
from numba.extending import overload
import numpy as np

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
    e^y = 2^-m e^r with |r| <= ln2 / 2, a degree-11 Taylor polynomial, and 2^-m
    assembled from its binary digits.

    :param y: exponent, <= 0 (clamped at -700).
    :return: e^y.
    """
    y = max(y, -700.0)
    m = int(-y * 1.4426950408889634 + 0.5)
    r = y + m * 0.6931471803691238 + m * 1.9082149292705877e-10
    p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120 + r * (
        1.0 / 720 + r * (1.0 / 5040 + r * (1.0 / 40320 + r * (1.0 / 362880 + r * (
            1.0 / 3628800 + r / 39916800))))))))))
    scale = 1.0
    factor = 0.5
    for bit in range(10):
        if m & (1 << bit):
            scale *= factor
        factor *= factor
    return p * scale


@numba.njit(inline='always')
def exp_neg32(y):
    """
    Return e^y for float32 y <= 0 in float32, with only multiplies and adds (vectorises).

    Scaling and squaring: e^y = (e^(y/128))^128 with a degree-9 Taylor polynomial on
    y/128 in [-0.68, 0].  Relative error about 1e-5 (float32 rounding amplified by the
    squarings), ample for surrogate gradients; no integer ops, so LLVM vectorises it.

    :param y: exponent, <= 0 (clamped at -87, the float32 normal range).
    :return: e^y as float32.
    """
    z = max(y, np.float32(-87.0)) * np.float32(1.0 / 128.0)
    p = np.float32(1.0) + z * (np.float32(1.0) + z * (np.float32(1.0 / 2) + z * (
        np.float32(1.0 / 6) + z * (np.float32(1.0 / 24) + z * (np.float32(1.0 / 120) + z * (
            np.float32(1.0 / 720) + z * (np.float32(1.0 / 5040) + z * (
                np.float32(1.0 / 40320) + z * np.float32(1.0 / 362880)))))))))
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    return p * p


def exp_neg_as(y, like):
    """
    Return e^y at the precision of like's type (float32 or float64).

    :param y: exponent, <= 0.
    :param like: a scalar of the working dtype.
    :return: e^y.
    """
    return math.exp(y)


@overload(exp_neg_as)
def _exp_neg_as(y, like):
    if like == types.float32:
        return lambda y, like: exp_neg32(y)
    return lambda y, like: exp_neg(y)


TINY = 1e-30


@numba.njit(inline='always')
def _flush(x):
    return x if abs(x) > TINY else x * 0.0


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


def forward_steps(cur, repeat, k0, k1, syn0, mem, ada0, base, decay_syn, decay_mem, decay_ada,
                  threshold, adaptation, silent_decay, alif, spikes, volt, syn_all, theta_all,
                  ada_all, chunks):
    """
    Run SNN steps k0..k1-1 of a layer; cur[k // repeat] is the input of step k.

    :param cur: input currents [T', B, N]; with repeat 0, cur[0] feeds every step.
    :param repeat: steps per input entry (0: one entry for all).
    :param k0: first step.
    :param k1: end step (exclusive).
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
    :param chunks: blocks of rows processed in parallel (1 for the serial variant).
    """
    batch, n = mem.shape
    for c in prange(chunks):
        lo, hi = c * batch // chunks, (c + 1) * batch // chunks
        for k in range(k0, k1):
            row = 0 if repeat == 0 else k // repeat
            for r in range(lo, hi):
                for i in range(n):
                    syn_prev = syn0[r, i] if k == 0 else syn_all[k - 1, r, i]
                    s = decay_syn[i] * syn_prev + cur[row, r, i]
                    syn_all[k, r, i] = s
                    v = decay_mem[i] * mem[r, i] + (1.0 - decay_mem[i]) * s
                    volt[k, r, i] = v
                    theta = threshold
                    ada_prev = 0.0
                    if alif:
                        ada_prev = ada0[r, i] if k == 0 else ada_all[k - 1, r, i]
                        theta = base[r, i] + adaptation * ada_prev
                        theta_all[k, r, i] = theta
                    z = 0.0
                    if v > theta:
                        z = 1.0
                        v -= theta
                    spikes[k, r, i] = z
                    mem[r, i] = v
                    if alif:
                        ada_all[k, r, i] = decay_ada[i] * ada_prev + z
                        if silent_decay > 0.0:
                            if z > 0.0:
                                base[r, i] = threshold
                            else:
                                base[r, i] = max(base[r, i] - silent_decay, 0.0)


@numba.njit(cache=True)
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


def backward_steps(k1, k0, g_spikes, has_g_spikes, g_rec, has_g_rec, volt, theta_all, spikes,
                   syn_all, ada_all, syn0, mem0, ada0, decay_syn, decay_mem, decay_ada,
                   threshold, adaptation, alif, sp, g_syn, g_mem, g_ada, g_cur, acc_syn,
                   acc_mem, acc_ada, chunks, surr_all, has_surr, g_volt_in, has_g_volt):
    """
    Back-propagate steps k1-1 down to k0 (reset detached), accumulating decay gradients.

    :param k1: end step (exclusive), processed first.
    :param k0: first step, processed last.
    :param g_spikes: dL/dz from the layer's outputs [T, B, N].
    :param has_g_spikes: whether g_spikes is given.
    :param g_rec: dL/dz_{k1-1} through the recurrence [B, N] (per-step use).
    :param has_g_rec: whether g_rec is given.
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
    :param chunks: blocks of rows processed in parallel (1 for the serial variant).
    :param surr_all: precomputed surrogate derivatives [T, B, N] (see surrogate_all).
    :param has_surr: use surr_all instead of evaluating the surrogate here.
    :param g_volt_in: dL/dv_k from the layer's membrane output [T, B, N].
    :param has_g_volt: whether g_volt_in is given.
    """
    batch, n = g_syn.shape
    scratch = np.empty((batch, 3, n), dtype=volt.dtype)  # per row: no sharing across threads
    one_minus_mem = 1.0 - decay_mem
    # Time outermost: each step touches contiguous [B, N] slabs (prefetch-friendly) and the
    # carried adjoints [B, N] stay in cache.
    # Rows are split into `chunks` blocks, one parallel region for the whole call; inside a
    # block time is outermost so each step streams through contiguous rows.
    for c in prange(chunks):
        lo, hi = c * batch // chunks, (c + 1) * batch // chunks
        for k in range(k1 - 1, k0 - 1, -1):
            for r in range(lo, hi):
                surr, g_z, mem_prev = scratch[r, 0], scratch[r, 1], scratch[r, 2]
                if has_surr:
                    pre = surr_all[k, r]
                    for i in range(n):
                        surr[i] = pre[i]
                else:
                    theta_row = theta_all[k, r] if alif else volt[k, r]
                    _surrogate_row(volt[k, r], theta_row, threshold, alif, sp, surr)
                # dL/dz_k from the outputs, the recurrence and (ALIF) the adaptation trace.
                if has_g_spikes and has_g_rec:
                    gsk, grr = g_spikes[k, r], g_rec[r]
                    for i in range(n):
                        g_z[i] = gsk[i] + grr[i]
                elif has_g_spikes:
                    gsk = g_spikes[k, r]
                    for i in range(n):
                        g_z[i] = gsk[i]
                elif has_g_rec:
                    grr = g_rec[r]
                    for i in range(n):
                        g_z[i] = grr[i]
                else:
                    for i in range(n):
                        g_z[i] = 0.0
                if alif:
                    ada_prev = ada0[r] if k == 0 else ada_all[k - 1, r]
                    g_n = g_ada[r]
                    for i in range(n):
                        g_z[i] += g_n[i]
                        acc_ada[r, i] += g_n[i] * ada_prev[i]
                if k == 0:
                    syn_prev = syn0[r]
                    m0 = mem0[r]
                    for i in range(n):
                        mem_prev[i] = m0[i]
                else:
                    syn_prev = syn_all[k - 1, r]
                    v_prev, z_prev = volt[k - 1, r], spikes[k - 1, r]
                    if alif:
                        th_prev = theta_all[k - 1, r]
                        for i in range(n):
                            mem_prev[i] = v_prev[i] - th_prev[i] * z_prev[i]
                    else:
                        for i in range(n):
                            mem_prev[i] = v_prev[i] - threshold * z_prev[i]
                gs, gm, gc, syn_k = g_syn[r], g_mem[r], g_cur[k, r], syn_all[k, r]
                acs, acm = acc_syn[r], acc_mem[r]
                if has_g_volt:
                    # A direct gradient on v_k joins the carried one (g^v_k = ... + e_k).
                    gvi = g_volt_in[k, r]
                    for i in range(n):
                        gm[i] += gvi[i]
                for i in range(n):
                    gzs = _flush(g_z[i] * surr[i])
                    gv = gzs + gm[i]
                    gi = gs[i] + one_minus_mem[i] * gv
                    gc[i] = gi
                    # Adjoints that decay below TINY are flushed to 0: denormal floats
                    # would make each operation on them ~100x slower.
                    gs[i] = _flush(decay_syn[i] * gi)
                    gm[i] = _flush(decay_mem[i] * gv)
                    acs[i] += gi * syn_prev[i]
                    acm[i] += gv * (mem_prev[i] - syn_k[i])
                    surr[i] = gzs
                if alif:
                    g_n = g_ada[r]
                    for i in range(n):
                        g_n[i] = _flush(decay_ada[i] * g_n[i] - adaptation * surr[i])


@numba.njit(parallel=True, cache=True)
def surrogate_all(volt, theta_all, threshold, alif, sp, out, chunks):
    """
    Evaluate the surrogate derivative for every step and row, in parallel.

    The recurrent layer's adjoint must run step by step on one thread; taking the
    surrogate (the costly part) out of that loop lets both cores compute it.

    :param volt: pre-reset membrane [T, B, N].
    :param theta_all: thresholds [T, B, N] (ALIF).
    :param threshold: theta_0 (LIF threshold).
    :param alif: adaptive neurons.
    :param sp: surrogate constants.
    :param out: destination [T, B, N].
    :param chunks: blocks of (step, row) pairs processed in parallel.
    """
    steps, batch = volt.shape[0], volt.shape[1]
    total = steps * batch
    for c in prange(chunks):
        for j in range(c * total // chunks, (c + 1) * total // chunks):
            k, r = j // batch, j % batch
            theta_row = theta_all[k, r] if alif else volt[k, r]
            _surrogate_row(volt[k, r], theta_row, threshold, alif, sp, out[k, r])


# Whole-sequence calls (feed-forward layers) split batch rows over threads; per-step
# calls (recurrent layers) are too short to amortise a parallel launch and run serially.
forward_steps_parallel = numba.njit(parallel=True, cache=True)(forward_steps)
backward_steps_parallel = numba.njit(parallel=True, cache=True)(backward_steps)
forward_steps = numba.njit(cache=True)(forward_steps)
backward_steps = numba.njit(cache=True)(backward_steps)
