# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
r"""
Fused forward/backward of a spiking layer over a whole sequence.

Autograd on the step functions of :mod:`predctl_ros.snn.neurons` records a
dozen nodes per neuron update; over hundreds of SNN steps the graph overhead
dominates.  This module runs the same equations in a loop of in-place tensor
ops and back-propagates them with a hand-written adjoint recursion, so that
the cost is close to the matrix multiplies alone:

* the feed-forward input current of every step is given (one large matmul by
  the caller), so only the recurrent product is inside the loop;
* on the CPU, whole sequences run in compiled kernels (:mod:`.kernels`), the
  recurrent product included;
* weight gradients of the recurrent connection are one large matmul after the
  backward loop.

Adjoint recursion (reverse time, reset detached, :math:`S_k = f(v_k - \theta_k)`):

.. math::

    g^z_k &= \partial L/\partial z_k + W_{rec}^\top g^I_{k+1} + g^n_k \\
    g^v_k &= g^z_k S_k + \beta_{mem} g^v_{k+1} \\
    g^I_k &= (1 - \beta_{mem}) g^v_k + \beta_{syn} g^I_{k+1} \\
    g^n_{k-1} &= \beta_{ada} g^n_k - \xi g^z_k S_k

With ``ScanConfig.membranes`` the scan also returns the pre-reset membranes
:math:`v_k` (for membrane regularisation) and their gradient :math:`\partial L/\partial
v_k` joins :math:`g^v_k`.  The result equals autograd through the reference step
functions (tested).
"""

import threading
from typing import NamedTuple, Optional, Tuple

import numba
import numpy as np
from predctl_ros.snn import blas, kernels
from predctl_ros.snn.surrogate import Surrogate
import torch
from torch import Tensor

# Use the compiled CPU kernels for CPU tensors; the loop of torch ops serves other
# devices (and the tests, which compare both with the reference).
USE_KERNELS = True


class ScanConfig(NamedTuple):
    """Static settings of a layer scan."""

    surrogate: Surrogate
    repeat: int = 1
    threshold: float = 1.0
    adaptation: float = 0.0
    silent_decay: float = 0.0
    alif: bool = False
    rec: str = 'none'
    membranes: bool = False
    """Also return the pre-reset membrane potentials, differentiable."""
    matmul_dtype: Optional[torch.dtype] = None
    """Lower precision of the weight-gradient products (set from torch.autocast)."""


def _rec_forward(rec: str, weights, z: Tensor, out: Tensor, hidden: Optional[Tensor]) -> None:
    # out += z @ W^T (dense) or z @ W1^T @ W2^T (low rank); hidden keeps z @ W1^T.
    if rec == 'dense':
        out.addmm_(z, weights[0].t())
    elif rec == 'lowrank':
        torch.mm(z, weights[0].t(), out=hidden)
        out.addmm_(hidden, weights[1].t())


def _rec_backward(rec: str, weights, g: Tensor, out: Tensor, proj: Optional[Tensor]) -> None:
    # out = g @ W (dense) or (g @ W2) @ W1 (low rank); proj keeps g @ W2.
    if rec == 'dense':
        torch.mm(g, weights[0], out=out)
    elif rec == 'lowrank':
        torch.mm(g, weights[1], out=proj)
        torch.mm(proj, weights[0], out=out)


class _BufferPool:
    """
    Reuse the large buffers a scan keeps for its backward pass.

    A fresh [T, B, N] tensor costs a page fault per 4 KiB on first touch, which on a
    small machine is several times the cost of the neuron update itself.  Buffers that
    never leave the scan (membrane, current, threshold and adaptation traces) return
    here after the backward pass and serve the next forward pass.
    """

    def __init__(self, max_bytes: int = 1 << 30):
        self.max_bytes = max_bytes
        self.free = {}
        self.held = 0
        self.lock = threading.Lock()

    def take(self, shape, like: Tensor) -> Tensor:
        key = (tuple(shape), like.dtype, like.device)
        with self.lock:
            stack = self.free.get(key)
            if stack:
                t = stack.pop()
                self.held -= t.numel() * t.element_size()
                return t
        return like.new_empty(shape)

    def give(self, *tensors) -> None:
        with self.lock:
            for t in tensors:
                if t is None:
                    continue
                size = t.numel() * t.element_size()
                if self.held + size > self.max_bytes:
                    continue
                self.free.setdefault((tuple(t.shape), t.dtype, t.device), []).append(t)
                self.held += size


POOL = _BufferPool()


class _Saved(NamedTuple):
    """Forward results the adjoint needs."""

    spikes: Tensor
    volt: Tensor
    syn_all: Tensor
    theta_all: Optional[Tensor]
    ada_all: Optional[Tensor]
    hidden_all: Optional[Tensor]


def _forward_torch(cfg, cur, decay_syn, decay_mem, decay_ada, syn0, mem, z, ada, base, saved,
                   rec_weights):
    one_minus_mem = 1.0 - decay_mem
    syn = syn0
    current = cur.new_empty(cur.shape[1:])
    for k in range(saved.spikes.shape[0]):
        current.copy_(cur[k // cfg.repeat])
        if cfg.rec != 'none':
            _rec_forward(cfg.rec, rec_weights, z, current,
                         None if saved.hidden_all is None else saved.hidden_all[k])
        syn = torch.addcmul(current, decay_syn, syn, out=saved.syn_all[k])
        v = torch.mul(mem, decay_mem, out=saved.volt[k])
        v.addcmul_(one_minus_mem, syn)
        if cfg.alif:
            theta = torch.add(base, ada, alpha=cfg.adaptation, out=saved.theta_all[k])
            z = torch.gt(v, theta, out=saved.spikes[k])
            torch.addcmul(v, theta, z, value=-1.0, out=mem)
            ada = torch.addcmul(z, decay_ada, ada, out=saved.ada_all[k])
            if cfg.silent_decay:
                base.copy_(torch.where(z > 0, cfg.threshold,
                                       (base - cfg.silent_decay).clamp_(min=0.0)))
        else:
            z = torch.gt(v, cfg.threshold, out=saved.spikes[k])
            torch.sub(v, z, alpha=cfg.threshold, out=mem)


def _np(t: Optional[Tensor], like: Tensor, dim: int):
    # numba needs arrays of a fixed rank and dtype even for unused arguments.
    if t is None:
        return np.empty((0,) * dim, dtype=like.numpy().dtype)
    return t.detach().numpy()


def _constants(cfg, like: Tensor):
    # threshold, adaptation and silent decay in the kernels' working precision: a Python
    # float is float64 and would widen float32 math.
    scalar = like.numpy().dtype.type
    return scalar(cfg.threshold), scalar(cfg.adaptation), scalar(cfg.silent_decay)


def _kernel_weights(rec: str, rec_weights, like: Tensor):
    # The kernels' operands (see kernels.forward_steps), taken once per scan: dense (W^T,
    # -, -), low rank (W1^T [N, d], W2 [N, d], W2^T [d, N]); '-' is an unused placeholder.
    if rec == 'none':
        none = _np(None, like, 2)
        return none, none, none
    if rec == 'dense':
        w_t = rec_weights[0].detach().t().contiguous().numpy()
        none = np.empty((0, 0), dtype=w_t.dtype)
        return w_t, none, none
    w1, w2 = (w.detach() for w in rec_weights)
    return (w1.t().contiguous().numpy(), w2.contiguous().numpy(),
            w2.t().contiguous().numpy())


_REC_KIND = {'none': kernels.REC_NONE, 'dense': kernels.REC_DENSE,
             'lowrank': kernels.REC_LOW_RANK}


def _forward_kernels(cfg, cur, decay_syn, decay_mem, decay_ada, syn0, mem, z, ada0, base, saved,
                     operands):
    ref = saved.spikes
    w_in, w_out, _ = operands
    rec_cur = POOL.take(mem.shape, mem) if cfg.rec == 'lowrank' else None
    kernels.forward_steps(
        cur.detach().numpy(), cfg.repeat, _np(syn0, ref, 2), mem.numpy(), _np(ada0, ref, 2),
        _np(base, ref, 2), _np(decay_syn, ref, 1), _np(decay_mem, ref, 1),
        _np(decay_ada, ref, 1), *_constants(cfg, ref), cfg.alif, saved.spikes.numpy(),
        saved.volt.numpy(), saved.syn_all.numpy(), _np(saved.theta_all, ref, 3),
        _np(saved.ada_all, ref, 3), _REC_KIND[cfg.rec], _np(z, ref, 2), w_in, w_out,
        _np(saved.hidden_all, ref, 3), _np(rec_cur, ref, 2),
        *blas.gemm_addresses(ref.numpy().dtype), numba.get_num_threads())
    POOL.give(rec_cur)


def _backward_torch(cfg, g_spikes, saved, decay_syn, decay_mem, decay_ada, rec_weights,
                    g_syn, g_mem, g_ada, g_cur, proj_all, g_volt_in=None):
    threshold = saved.theta_all if cfg.alif else cfg.threshold
    surr_times_gz = cfg.surrogate.derivative(saved.volt - threshold)  # S_k, then S_k * g^z_k
    g_volt = torch.empty_like(saved.volt)
    g_ada_all = torch.empty_like(saved.volt) if cfg.alif else None
    g_z = torch.zeros_like(g_syn)   # dL/dz_k through the recurrence of step k+1
    one_minus_mem = 1.0 - decay_mem
    for k in range(saved.spikes.shape[0] - 1, -1, -1):
        if g_spikes is not None:
            g_z.add_(g_spikes[k])
        if cfg.alif:
            g_z.add_(g_ada)
            g_ada_all[k].copy_(g_ada)
        gzs = surr_times_gz[k].mul_(g_z)
        if g_volt_in is not None:
            g_mem.add_(g_volt_in[k])
        gv = torch.add(gzs, g_mem, out=g_volt[k])
        if cfg.alif:
            g_ada.mul_(decay_ada).sub_(gzs, alpha=cfg.adaptation)
        gi = torch.addcmul(g_syn, one_minus_mem, gv, out=g_cur[k])
        torch.mul(gi, decay_syn, out=g_syn)
        torch.mul(gv, decay_mem, out=g_mem)
        if cfg.rec != 'none':
            _rec_backward(cfg.rec, rec_weights, gi, g_z, None if proj_all is None else proj_all[k])
        else:
            g_z.zero_()
    return g_z, g_volt, g_ada_all


def _decay_grads_torch(cfg, saved, syn0, mem0, ada0, g_cur, g_volt, g_ada_all):
    syn_prev = torch.cat((syn0.unsqueeze(0), saved.syn_all[:-1]))
    g_decay_syn = (g_cur * syn_prev).sum((0, 1))
    mem_post = saved.volt - (saved.theta_all if cfg.alif else cfg.threshold) * saved.spikes
    mem_prev = torch.cat((mem0.unsqueeze(0), mem_post[:-1]))
    g_decay_mem = (g_volt * (mem_prev - saved.syn_all)).sum((0, 1))
    g_decay_ada = None
    if cfg.alif:
        ada_prev = torch.cat((ada0.unsqueeze(0), saved.ada_all[:-1]))
        g_decay_ada = (g_ada_all * ada_prev).sum((0, 1))
    return g_decay_syn, g_decay_mem, g_decay_ada


def _backward_kernels(cfg, g_spikes, saved, syn0, mem0, ada0, decay_syn, decay_mem, decay_ada,
                      operands, g_syn, g_mem, g_ada, g_cur, proj_all, g_volt_in=None,
                      decay_grads=True):
    ref = saved.spikes
    # The decay gradients' running sums, only when wanted.
    acc = [torch.zeros_like(g_syn) if decay_grads else None for _ in range(3)]
    g_z = torch.zeros_like(g_syn)
    sp = kernels.surrogate_constants(cfg.surrogate.name, cfg.surrogate.sharpness,
                                     ref.numpy().dtype)
    arrays = (saved.volt.numpy(), _np(saved.theta_all, ref, 3), saved.spikes.numpy(),
              saved.syn_all.numpy(), _np(saved.ada_all, ref, 3), _np(syn0, ref, 2),
              _np(mem0, ref, 2), _np(ada0, ref, 2), _np(decay_syn, ref, 1),
              _np(decay_mem, ref, 1), _np(decay_ada, ref, 1), *_constants(cfg, ref)[:2],
              cfg.alif, sp, g_syn.numpy(), g_mem.numpy(),
              _np(g_ada, ref, 2), g_cur.numpy(), *(_np(a, ref, 2) for a in acc), decay_grads,
              _np(g_volt_in, ref, 3), g_volt_in is not None)
    g_out = (_np(g_spikes, ref, 3), g_spikes is not None)
    w_in, _, w_out_t = operands
    rec = (_REC_KIND[cfg.rec], w_in, w_out_t, _np(proj_all, ref, 3), g_z.numpy(),
           *blas.gemm_addresses(ref.numpy().dtype))
    kernels.backward_steps(*g_out, *arrays, *rec, numba.get_num_threads())
    if not decay_grads:
        return g_z, None, None, None
    g_decay_ada = acc[2].sum(0) if cfg.alif else None
    return g_z, acc[0].sum(0), acc[1].sum(0), g_decay_ada


def _in_dtype(dtype, *tensors):
    # The operands of a product in the scan's matmul_dtype (None: as they are).
    return tensors if dtype is None else tuple(t.to(dtype) for t in tensors)


def _outer_sum(g_all: Tensor, first: Tensor, rest: Tensor, dtype=None) -> Tensor:
    # sum over steps k and batch of g_k^T x_{k-1}, with x_{-1} = first and x_{0..T-2} = rest.
    result_dtype = g_all.dtype
    g_all, first, rest = _in_dtype(dtype, g_all, first, rest)
    out = g_all[0].t() @ first
    return out.addmm_(g_all[1:].reshape(-1, g_all.shape[-1]).t(), rest).to(result_dtype)


def _product(a: Tensor, b: Tensor, dtype=None) -> Tensor:
    result_dtype = a.dtype
    a, b = _in_dtype(dtype, a, b)
    return (a @ b).to(result_dtype)


def _use_kernels(t: Tensor) -> bool:
    return USE_KERNELS and t.device.type == 'cpu' and t.dtype in (torch.float32, torch.float64)


DECAYS_AT = 2   # index of decay_syn among _LayerScan's inputs (decay_mem, decay_ada follow)
REC_WEIGHTS_AT = 10   # index of the first recurrent weight among _LayerScan's inputs


class _LayerScan(torch.autograd.Function):

    @staticmethod
    def forward(ctx, cfg, cur, decay_syn, decay_mem, decay_ada, syn0, mem0, z0, ada0, base0,
                *rec_weights):
        steps = cur.shape[0] * cfg.repeat
        batch, n = cur.shape[1], cur.shape[2]
        shape = (steps, batch, n)
        hidden_all = None
        if cfg.rec == 'lowrank':
            hidden_all = POOL.take((steps, batch, rec_weights[0].shape[0]), cur)
        saved = _Saved(cur.new_empty(shape), POOL.take(shape, cur), POOL.take(shape, cur),
                       POOL.take(shape, cur) if cfg.alif else None,
                       POOL.take(shape, cur) if cfg.alif else None, hidden_all)
        mem = mem0.clone()
        base = base0.clone() if cfg.alif else None
        # The kernels' transposed weights serve the backward pass too.
        ctx.operands = None
        if _use_kernels(cur):
            ctx.operands = _kernel_weights(cfg.rec, rec_weights, cur)
            _forward_kernels(cfg, cur, decay_syn, decay_mem, decay_ada, syn0, mem, z0, ada0,
                             base, saved, ctx.operands)
        else:
            _forward_torch(cfg, cur, decay_syn, decay_mem, decay_ada, syn0, mem, z0, ada0, base,
                           saved, rec_weights)
        ctx.cfg = cfg
        ctx.recycled = False
        ctx.save_for_backward(decay_syn, decay_mem, decay_ada, syn0, mem0, z0, ada0, *saved,
                              *rec_weights)
        syn_out = saved.syn_all[-1].clone()
        ada_out = saved.ada_all[-1].clone() if cfg.alif else None
        # A copy: the buffer returns to the pool after the backward pass.
        volt_out = saved.volt.clone() if cfg.membranes else None
        if not any(ctx.needs_input_grad):
            POOL.give(*saved[1:])
        if cfg.alif:
            ctx.mark_non_differentiable(base)
            return saved.spikes, syn_out, mem, ada_out, base, volt_out
        return saved.spikes, syn_out, mem, None, None, volt_out

    @staticmethod
    def backward(ctx, g_spikes, g_syn_out, g_mem_out, g_ada_out, g_base_out, g_volt_out):
        cfg = ctx.cfg
        if ctx.recycled:
            raise RuntimeError('a spiking layer scan can be back-propagated only once: its '
                               'buffers are recycled (retain_graph=True is not supported)')
        (decay_syn, decay_mem, decay_ada, syn0, mem0, z0, ada0, *rest) = ctx.saved_tensors
        saved, rec_weights = _Saved(*rest[:6]), rest[6:]
        steps, batch, n = saved.spikes.shape
        zeros = saved.spikes.new_zeros
        g_syn = g_syn_out.clone() if g_syn_out is not None else zeros(batch, n)
        g_mem = g_mem_out.clone() if g_mem_out is not None else zeros(batch, n)
        g_ada = None
        if cfg.alif:
            g_ada = g_ada_out.clone() if g_ada_out is not None else zeros(batch, n)
        # With repeat > 1 only the per-entry sum of g_cur leaves the scan, so it can be pooled.
        g_cur = POOL.take(saved.volt.shape, saved.volt) if cfg.repeat > 1 else (
            torch.empty_like(saved.volt))
        proj_all = None
        if cfg.rec == 'lowrank':
            proj_all = POOL.take((steps, batch, rec_weights[0].shape[0]), saved.volt)
        g_spikes = g_spikes.contiguous() if g_spikes is not None else None
        g_volt_out = g_volt_out.contiguous() if g_volt_out is not None else None

        if ctx.operands is not None:   # the forward pass ran the kernels
            g_z, g_decay_syn, g_decay_mem, g_decay_ada = _backward_kernels(
                cfg, g_spikes, saved, syn0, mem0, ada0, decay_syn, decay_mem, decay_ada,
                ctx.operands, g_syn, g_mem, g_ada, g_cur, proj_all, g_volt_out,
                decay_grads=any(ctx.needs_input_grad[DECAYS_AT:DECAYS_AT + 3]))
        else:
            g_z, g_volt, g_ada_all = _backward_torch(
                cfg, g_spikes, saved, decay_syn, decay_mem, decay_ada, rec_weights, g_syn,
                g_mem, g_ada, g_cur, proj_all, g_volt_out)
            g_decay_syn, g_decay_mem, g_decay_ada = _decay_grads_torch(
                cfg, saved, syn0, mem0, ada0, g_cur, g_volt, g_ada_all)

        g_rec, g_z0 = (None,) * len(rec_weights), None
        # Weight gradients are skipped for a frozen network (the model under the policy
        # loss): the outer sums are the largest matmuls of the backward pass.
        rec_grads = any(ctx.needs_input_grad[REC_WEIGHTS_AT:])
        if cfg.rec != 'none' and not rec_grads:
            g_z0 = g_z
        elif cfg.rec != 'none':
            # dW = sum_k g_k^T z_{k-1}: step 0 pairs with z0, the rest with spikes[:-1] (no cat).
            spikes_prev = saved.spikes[:-1].reshape(-1, n)
            if cfg.rec == 'dense':
                g_rec = (_outer_sum(g_cur, z0, spikes_prev, cfg.matmul_dtype),)
            else:
                rank = rec_weights[0].shape[0]
                g_rec = (_outer_sum(proj_all, z0, spikes_prev, cfg.matmul_dtype),
                         _product(g_cur.reshape(-1, n).t(), saved.hidden_all.reshape(-1, rank),
                                  cfg.matmul_dtype))
            g_z0 = g_z
        g_in = g_cur
        if cfg.repeat > 1:
            g_in = g_cur.view(-1, cfg.repeat, batch, n).sum(1)
        ctx.recycled, ctx.operands = True, None
        POOL.give(*saved[1:], g_cur if cfg.repeat > 1 else None, proj_all)
        return (None, g_in, g_decay_syn, g_decay_mem, g_decay_ada, g_syn, g_mem, g_z0, g_ada,
                None, *g_rec)


def layer_scan(cfg: ScanConfig, current: Tensor, decay_syn: Tensor, decay_mem: Tensor,
               decay_ada: Optional[Tensor], state, z0: Optional[Tensor],
               rec_weights=()) -> Tuple[Tensor, tuple]:
    """
    Run a spiking layer over a sequence with the fused backward pass.

    :param cfg: static settings (neuron model, surrogate, recurrence kind).
    :param current: feed-forward input current including bias, [T / repeat, B, N]; step k
        uses current[k // repeat].
    :param decay_syn: per-neuron synaptic decay, [N].
    :param decay_mem: per-neuron membrane decay, [N].
    :param decay_ada: per-neuron adaptation decay [N] (ALIF) or None.
    :param state: LIFState or ALIFState before the first step, tensors [B, N].
    :param z0: spikes of the step before the first one [B, N] (recurrent layers) or None.
    :param rec_weights: () without recurrence, (W,) dense [N, N], or (W1, W2) low rank with
        W1 [d, N] and W2 [N, d].
    :return: spikes [T, B, N] and the state tuple after the last step (same type as state);
        with cfg.membranes also the pre-reset membrane potentials v_k [T, B, N].
    """
    if cfg.rec != 'none' and z0 is None:
        raise ValueError('a recurrent layer scan needs the previous spikes z0')
    if cfg.alif:
        syn0, mem0, ada0, base0 = state
    else:
        (syn0, mem0), ada0, base0 = state, None, None
    device = current.device.type
    if torch.is_autocast_enabled(device):
        # The neuron state stays in full precision; only the weight gradients' large
        # products follow autocast, as the caller's feed-forward products do.
        cfg = cfg._replace(matmul_dtype=torch.get_autocast_dtype(device))
    current = current.to(syn0.dtype)
    with torch.autocast(device, enabled=False):
        spikes, syn, mem, ada, base, volt = _LayerScan.apply(
            cfg, current, decay_syn, decay_mem, decay_ada, syn0, mem0, z0, ada0, base0,
            *rec_weights)
    final = (syn, mem, ada, base) if cfg.alif else (syn, mem)
    if cfg.membranes:
        return spikes, type(state)(*final), volt
    return spikes, type(state)(*final)


class _LeakyScan(torch.autograd.Function):
    """y_k = decay * y_{k-1} + x_k over the leading axis, with its adjoint."""

    @staticmethod
    def forward(ctx, x, decay, y0):
        out = torch.empty_like(x)
        y = y0
        for k in range(x.shape[0]):
            y = torch.addcmul(x[k], decay, y, out=out[k])
        ctx.save_for_backward(decay, y0, out)
        return out

    @staticmethod
    def backward(ctx, g_out):
        decay, y0, out = ctx.saved_tensors
        g_x = torch.empty_like(g_out)
        g = torch.zeros_like(y0)
        for k in range(g_out.shape[0] - 1, -1, -1):
            g = torch.addcmul(g_out[k], decay, g, out=g_x[k])
        y_prev = torch.cat((y0.unsqueeze(0), out[:-1]))
        g_decay = (g_x * y_prev).sum(tuple(range(g_x.dim() - 1)))
        return g_x, g_decay, decay * g_x[0]


def leaky_scan(x: Tensor, decay: Tensor, y0: Tensor) -> Tensor:
    """
    Integrate y_k = decay * y_{k-1} + x_k over the leading (time) axis.

    :param x: drive [T, ..., M].
    :param decay: per-channel decay [M].
    :param y0: value before the first step [..., M].
    :return: all y_k, [T, ..., M].
    """
    return _LeakyScan.apply(x, decay, y0)
