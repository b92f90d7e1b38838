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
  the caller), so only the recurrent matmul is inside the loop;
* weight gradients of the recurrent connection are one large matmul after the
  backward loop;
* surrogate derivatives are evaluated once for the whole sequence.

Adjoint recursion (reverse time, reset detached, :math:`S_k = f(v_k - \theta_k)`):

.. math::

    g^z_k &= \partial L/\partial z_k + W_{rec}^\top g^I_{k+1} + g^n_k \\
    g^v_k &= g^z_k S_k + \beta_{mem} g^v_{k+1} \\
    g^I_k &= (1 - \beta_{mem}) g^v_k + \beta_{syn} g^I_{k+1} \\
    g^n_{k-1} &= \beta_{ada} g^n_k - \xi g^z_k S_k

The result equals autograd through the reference step functions (tested).
"""

from typing import NamedTuple, Optional, Tuple

from predctl_ros.snn.surrogate import Surrogate
import torch
from torch import Tensor


class ScanConfig(NamedTuple):
    """Static settings of a layer scan."""

    surrogate: Surrogate
    repeat: int = 1
    threshold: float = 1.0
    adaptation: float = 0.0
    silent_decay: float = 0.0
    alif: bool = False
    rec: str = 'none'


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


class _LayerScan(torch.autograd.Function):

    @staticmethod
    def forward(ctx, cfg, cur, decay_syn, decay_mem, decay_ada, syn0, mem0, z0, ada0, base0,
                *rec_weights):
        steps = cur.shape[0] * cfg.repeat
        batch, n = cur.shape[1], cur.shape[2]
        new = cur.new_empty
        spikes, volt, syn_all = new(steps, batch, n), new(steps, batch, n), new(steps, batch, n)
        theta_all = new(steps, batch, n) if cfg.alif else None
        ada_all = new(steps, batch, n) if cfg.alif else None
        hidden_all = None
        if cfg.rec == 'lowrank':
            hidden_all = new(steps, batch, rec_weights[0].shape[0])
        one_minus_mem = 1.0 - decay_mem
        syn, mem, z, ada, base = syn0, mem0.clone(), z0, ada0, base0
        current = new(batch, n)
        for k in range(steps):
            current.copy_(cur[k // cfg.repeat])
            if z is not None:
                _rec_forward(cfg.rec, rec_weights, z, current,
                             None if hidden_all is None else hidden_all[k])
            syn = torch.addcmul(current, decay_syn, syn, out=syn_all[k])
            v = torch.mul(mem, decay_mem, out=volt[k])
            v.addcmul_(one_minus_mem, syn)
            if cfg.alif:
                theta = torch.add(base, ada, alpha=cfg.adaptation, out=theta_all[k])
                z = torch.gt(v, theta, out=spikes[k])
                torch.addcmul(v, theta, z, value=-1.0, out=mem)
                ada = torch.addcmul(z, decay_ada, ada, out=ada_all[k])
                if cfg.silent_decay:
                    base = torch.where(z > 0, cfg.threshold,
                                       (base - cfg.silent_decay).clamp_(min=0.0))
            else:
                z = torch.gt(v, cfg.threshold, out=spikes[k])
                torch.sub(v, z, alpha=cfg.threshold, out=mem)
            if cfg.rec == 'none':
                z = None
        ctx.cfg = cfg
        ctx.save_for_backward(decay_syn, decay_mem, decay_ada, syn0, mem0, z0, ada0,
                              spikes, volt, syn_all, theta_all, ada_all, hidden_all,
                              *rec_weights)
        syn_out = syn_all[-1].clone()
        if cfg.alif:
            base_out = base.clone() if base is base0 else base
            ctx.mark_non_differentiable(base_out)
            return spikes, syn_out, mem, ada_all[-1].clone(), base_out
        return spikes, syn_out, mem, None, None

    @staticmethod
    def backward(ctx, g_spikes, g_syn_out, g_mem_out, g_ada_out, g_base_out):
        cfg = ctx.cfg
        (decay_syn, decay_mem, decay_ada, syn0, mem0, z0, ada0, spikes, volt, syn_all,
         theta_all, ada_all, hidden_all, *rec_weights) = ctx.saved_tensors
        steps, batch, n = spikes.shape
        new_zeros = spikes.new_zeros

        threshold = theta_all if cfg.alif else cfg.threshold
        surr_times_gz = cfg.surrogate.derivative(volt - threshold)  # S_k, later S_k * g^z_k
        g_volt = torch.empty_like(volt)
        g_cur = torch.empty_like(volt)
        g_ada_all = torch.empty_like(volt) if cfg.alif else None
        proj_all = None
        if cfg.rec == 'lowrank':
            proj_all = spikes.new_empty(steps, batch, rec_weights[0].shape[0])

        g_syn = g_syn_out.clone() if g_syn_out is not None else new_zeros(batch, n)
        g_mem = g_mem_out.clone() if g_mem_out is not None else new_zeros(batch, n)
        g_ada = None
        if cfg.alif:
            g_ada = g_ada_out.clone() if g_ada_out is not None else new_zeros(batch, n)
        g_z = new_zeros(batch, n)   # dL/dz_k through the recurrence of step k+1
        one_minus_mem = 1.0 - decay_mem
        for k in range(steps - 1, -1, -1):
            if g_spikes is not None:
                g_z.add_(g_spikes[k])
            if cfg.alif:
                g_z.add_(g_ada)
                g_ada_all[k].copy_(g_ada)
            gzs = surr_times_gz[k].mul_(g_z)
            gv = torch.add(gzs, g_mem, out=g_volt[k])
            if cfg.alif:
                g_ada.mul_(decay_ada).sub_(gzs, alpha=cfg.adaptation)
            gi = torch.addcmul(g_syn, one_minus_mem, gv, out=g_cur[k])
            torch.mul(gi, decay_syn, out=g_syn)
            torch.mul(gv, decay_mem, out=g_mem)
            if cfg.rec != 'none':
                _rec_backward(cfg.rec, rec_weights, gi, g_z,
                              None if proj_all is None else proj_all[k])
            else:
                g_z.zero_()

        # Decay gradients: sums over time and batch of adjoint x partial derivative.
        syn_prev = torch.cat((syn0.unsqueeze(0), syn_all[:-1]))
        g_decay_syn = (g_cur * syn_prev).sum((0, 1))
        mem_post = volt - (theta_all if cfg.alif else cfg.threshold) * spikes
        mem_prev = torch.cat((mem0.unsqueeze(0), mem_post[:-1]))
        g_decay_mem = (g_volt * (mem_prev - syn_all)).sum((0, 1))
        g_decay_ada = g_ada0 = None
        if cfg.alif:
            ada_prev = torch.cat((ada0.unsqueeze(0), ada_all[:-1]))
            g_decay_ada = (g_ada_all * ada_prev).sum((0, 1))
            g_ada0 = g_ada

        g_rec = ()
        g_z0 = None
        if cfg.rec != 'none':
            z_prev = torch.cat((z0.unsqueeze(0), spikes[:-1])).reshape(-1, n)
            g_flat = g_cur.reshape(-1, n)
            if cfg.rec == 'dense':
                g_rec = (g_flat.t() @ z_prev,)
            else:
                w1, w2 = rec_weights
                g_rec = ((proj_all.reshape(-1, w1.shape[0]).t() @ z_prev),
                         g_flat.t() @ hidden_all.reshape(-1, w1.shape[0]))
            g_z0 = g_z
        g_in = g_cur
        if cfg.repeat > 1:
            g_in = g_cur.view(-1, cfg.repeat, batch, n).sum(1)
        return (None, g_in, g_decay_syn, g_decay_mem, g_decay_ada, g_syn, g_mem, g_z0, g_ada0,
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
    :return: spikes [T, B, N] and the state tuple after the last step (same type as state).
    """
    if cfg.rec != 'none' and z0 is None:
        raise ValueError('a recurrent layer scan needs the previous spikes z0')
    if cfg.alif:
        syn0, mem0, ada0, base0 = state
    else:
        (syn0, mem0), ada0, base0 = state, None, None
    spikes, syn, mem, ada, base = _LayerScan.apply(
        cfg, current, decay_syn, decay_mem, decay_ada, syn0, mem0, z0, ada0, base0,
        *rec_weights)
    final = (syn, mem, ada, base) if cfg.alif else (syn, mem)
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
