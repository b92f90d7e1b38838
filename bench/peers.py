# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
r"""
Peer spiking networks (snnTorch, Norse) and the dense matmul floor for bench_snn.

Two workloads, built the same way for every implementation:

* the Panda prediction network for BPTT: ``n_in`` -> recurrent current-based LIF
  layer -> feed-forward current-based LIF layer -> leaky non-spiking readout.
  ``forward(x)`` takes ``x`` of shape [T_control, B, n_in], holds each control
  step's input for ``sub_steps`` SNN steps and returns the readout at the last
  sub-step of each control step, [T_control, B, n_out];
* the policy network for one control step: ``n_in`` -> feed-forward adaptive LIF
  layer -> feed-forward adaptive LIF layer -> leaky readout, batch 1, whose
  ``step(x)`` advances ``sub_steps`` SNN steps and keeps the state.

The reference neuron (predctl_ros.snn.neurons) per SNN step k is

.. math::

    syn_k = b_{syn} syn_{k-1} + I_k,\quad
    v_k = b_{mem} mem_{k-1} + (1 - b_{mem}) syn_k,\quad
    z_k = H(v_k - \theta),\quad mem_k = v_k - sg(\theta z_k).

:func:`check_lif_equivalence` compares it with snnTorch's ``Synaptic`` and
Norse's LIF step numerically.
"""

import norse.torch as norse
from norse.torch.functional.lif import lif_feed_forward_step, LIFFeedForwardState
import numpy as np
import snntorch as snn
import torch
from torch import nn

# Decays per SNN step shared by every implementation (Norse's defaults at dt = 1 ms:
# tau_syn_inv = 200 /s, tau_mem_inv = 100 /s).
DECAY_SYN = 0.8
DECAY_MEM = 0.9
DECAY_OUT = 0.9
DECAY_ADA = 0.99
ADAPTATION = 0.05
NORSE_DT = 1e-3
# Weight standard deviation times sqrt(fan_in) in the reference formulation (about 10 %
# firing with unit-variance inputs).
GAIN_IN, GAIN_REC, GAIN_FF, GAIN_OUT = 2.0, 1.0, 3.0, 1.0


def _norse_lif_parameters(decay_syn=DECAY_SYN, decay_mem=DECAY_MEM):
    """
    Return Norse LIF parameters whose Euler step has the given per-step decays.

    :param decay_syn: synaptic decay per step.
    :param decay_mem: membrane decay per step.
    :return: norse LIFParameters for dt = NORSE_DT.
    """
    return norse.LIFParameters(
        tau_syn_inv=torch.as_tensor((1.0 - decay_syn) / NORSE_DT),
        tau_mem_inv=torch.as_tensor((1.0 - decay_mem) / NORSE_DT),
        v_leak=torch.as_tensor(0.0), v_th=torch.as_tensor(1.0),
        v_reset=torch.as_tensor(0.0))


def _norse_li_parameters(decay_out=DECAY_OUT):
    """
    Return Norse leaky-integrator parameters for the readout.

    :param decay_out: membrane decay of the readout per step.
    :return: norse LIParameters for dt = NORSE_DT.
    """
    return norse.LIParameters(
        tau_syn_inv=torch.as_tensor(1.0 / NORSE_DT),  # no synaptic memory
        tau_mem_inv=torch.as_tensor((1.0 - decay_out) / NORSE_DT))


def _norse_lsnn_parameters():
    """
    Return Norse LSNN parameters mapped onto the shared ALIF decays.

    Norse's threshold is b_k = v_th + a_k with a_k = rho a_{k-1} + beta z_k; the
    reference uses theta_k = theta_0 + xi n_{k-1}, n_k = b_ada n_{k-1} + z_k.  They
    agree for rho = b_ada and beta = xi / b_ada.

    :return: norse LSNNParameters for dt = NORSE_DT.
    """
    return norse.LSNNParameters(
        tau_syn_inv=torch.as_tensor((1.0 - DECAY_SYN) / NORSE_DT),
        tau_mem_inv=torch.as_tensor((1.0 - DECAY_MEM) / NORSE_DT),
        tau_adapt_inv=torch.as_tensor((1.0 - DECAY_ADA) / NORSE_DT),
        v_leak=torch.as_tensor(0.0), v_th=torch.as_tensor(1.0),
        v_reset=torch.as_tensor(0.0), beta=torch.as_tensor(ADAPTATION / DECAY_ADA))


def _init_linear(layer, gain):
    """
    Draw a linear layer's weight from N(0, gain^2 / fan_in) and zero its bias.

    :param layer: nn.Linear.
    :param gain: standard deviation times sqrt(fan_in).
    :return: the layer.
    """
    with torch.no_grad():
        layer.weight.normal_(0.0, gain / layer.in_features ** 0.5)
        if layer.bias is not None:
            layer.bias.zero_()
    return layer


class SnnTorchPredictionNet(nn.Module):
    """
    Prediction network from snnTorch Synaptic neurons and nn.Linear layers.

    Layer by layer over the whole sequence: the recurrent layer loops over the
    SNN steps with one 512x512 matmul per step; the feed-forward layer's and the
    readout's matmuls run once over all steps, only their dynamics loop.
    """

    def __init__(self, n_in, hidden, n_out, sub_steps=7, reset_delay=False):
        """
        Build the layers.

        :param n_in: number of inputs.
        :param hidden: neurons per spiking layer.
        :param n_out: number of readout units.
        :param sub_steps: SNN steps per control step.
        :param reset_delay: snnTorch's reset_delay; False subtracts the threshold in
            the step of the spike, as the reference neuron does.
        """
        super().__init__()
        self.sub_steps = sub_steps
        # The reference feeds (1 - b_mem) * syn into the membrane; snnTorch adds syn
        # unscaled, so the factor lives in the weights (identical dynamics).
        fold, fold_out = 1.0 - DECAY_MEM, 1.0 - DECAY_OUT
        self.fc_in = _init_linear(nn.Linear(n_in, hidden), GAIN_IN * fold)
        self.fc_rec = _init_linear(nn.Linear(hidden, hidden, bias=False), GAIN_REC * fold)
        self.lif1 = snn.Synaptic(alpha=DECAY_SYN, beta=DECAY_MEM, reset_delay=reset_delay)
        self.fc_ff = _init_linear(nn.Linear(hidden, hidden), GAIN_FF * fold)
        self.lif2 = snn.Synaptic(alpha=DECAY_SYN, beta=DECAY_MEM, reset_delay=reset_delay)
        self.fc_out = _init_linear(nn.Linear(hidden, n_out), GAIN_OUT * fold_out)
        self.readout = snn.Leaky(beta=DECAY_OUT, reset_mechanism='none')

    def forward(self, x):
        """
        Run the network over a sequence of control steps.

        :param x: inputs [T_control, B, n_in].
        :return: readout at the last sub-step of each control step [T_control, B, n_out].
        """
        t_ctrl, batch, _ = x.shape
        cur_in = self.fc_in(x).unbind(0)
        hidden = cur_in[0].shape[-1]
        syn = torch.zeros(batch, hidden, dtype=x.dtype)
        mem = torch.zeros_like(syn)
        spk = torch.zeros_like(syn)
        spikes1 = []
        for t in range(t_ctrl):
            for _ in range(self.sub_steps):
                spk, syn, mem = self.lif1(cur_in[t] + self.fc_rec(spk), syn, mem)
                spikes1.append(spk)
        cur_ff = self.fc_ff(torch.stack(spikes1))
        syn = torch.zeros_like(syn)
        mem = torch.zeros_like(syn)
        spikes2 = []
        for cur in cur_ff.unbind(0):
            spk, syn, mem = self.lif2(cur, syn, mem)
            spikes2.append(spk)
        cur_out = self.fc_out(torch.stack(spikes2))
        out = torch.zeros(batch, cur_out.shape[-1], dtype=x.dtype)
        readouts = []
        for k, cur in enumerate(cur_out.unbind(0)):
            _, out = self.readout(cur, out)
            if k % self.sub_steps == self.sub_steps - 1:
                readouts.append(out)
        self.last_rates = (torch.stack(spikes1).mean().item(), torch.stack(spikes2).mean().item())
        return torch.stack(readouts)


class NorsePredictionNet(nn.Module):
    """
    Prediction network from Norse cells stepped with explicit state.

    LIFRecurrentCell for the recurrent layer, nn.Linear applied to all steps at
    once followed by LIFCell for the feed-forward layer, nn.Linear + LICell readout.
    The sequences are unbound once; Norse's sequence modules (LIFRecurrent, LIF)
    index their input per step, whose backward (SelectBackward) writes a zero
    tensor of the whole sequence per step and makes BPTT about ten times slower.
    """

    def __init__(self, n_in, hidden, n_out, sub_steps=7):
        """
        Build the layers.

        :param n_in: number of inputs.
        :param hidden: neurons per spiking layer.
        :param n_out: number of readout units.
        :param sub_steps: SNN steps per control step.
        """
        super().__init__()
        self.sub_steps = sub_steps
        self.rec = norse.LIFRecurrentCell(n_in, hidden, p=_norse_lif_parameters())
        with torch.no_grad():
            self.rec.input_weights.normal_(0.0, GAIN_IN / n_in ** 0.5)
            self.rec.recurrent_weights.normal_(0.0, GAIN_REC / hidden ** 0.5)
            self.rec.recurrent_weights.fill_diagonal_(0.0)
        self.fc_ff = _init_linear(nn.Linear(hidden, hidden), GAIN_FF)
        self.lif = norse.LIFCell(p=_norse_lif_parameters())
        self.fc_out = _init_linear(nn.Linear(hidden, n_out), GAIN_OUT)
        self.readout = norse.LICell(p=_norse_li_parameters())

    def forward(self, x):
        """
        Run the network over a sequence of control steps.

        :param x: inputs [T_control, B, n_in].
        :return: readout at the last sub-step of each control step [T_control, B, n_out].
        """
        state, spikes1 = None, []
        for x_t in x.unbind(0):
            for _ in range(self.sub_steps):
                z, state = self.rec(x_t, state)
                spikes1.append(z)
        z1 = torch.stack(spikes1)
        state, spikes2 = None, []
        for cur in self.fc_ff(z1).unbind(0):
            z, state = self.lif(cur, state)
            spikes2.append(z)
        z2 = torch.stack(spikes2)
        state, readouts = None, []
        for k, cur in enumerate(self.fc_out(z2).unbind(0)):
            out, state = self.readout(cur, state)
            if k % self.sub_steps == self.sub_steps - 1:
                readouts.append(out)
        self.last_rates = (z1.mean().item(), z2.mean().item())
        return torch.stack(readouts)


class SnnTorchPolicy:
    """
    Policy network stepper with snnTorch Synaptic neurons and adaptive thresholds.

    snnTorch has no adaptive LIF; the threshold theta = theta_0 + xi n is written
    into each Synaptic's threshold buffer before its step and the adaptation trace
    n = b_ada n + z is updated in plain torch.  reset_delay=False so that the
    subtracted threshold is the one the spike was tested against.
    """

    def __init__(self, n_in, hidden, n_out, sub_steps=7):
        """
        Build the layers and the resting state.

        :param n_in: number of inputs.
        :param hidden: neurons per spiking layer.
        :param n_out: number of actions.
        :param sub_steps: SNN steps per control step.
        """
        self.sub_steps = sub_steps
        torch.manual_seed(1)
        fold, fold_out = 1.0 - DECAY_MEM, 1.0 - DECAY_OUT
        self.fc_in = _init_linear(nn.Linear(n_in, hidden), GAIN_IN * fold)
        self.fc_ff = _init_linear(nn.Linear(hidden, hidden), GAIN_FF * fold)
        self.fc_out = _init_linear(nn.Linear(hidden, n_out), GAIN_OUT * fold_out)
        self.lif1 = snn.Synaptic(alpha=DECAY_SYN, beta=DECAY_MEM, reset_delay=False)
        self.lif2 = snn.Synaptic(alpha=DECAY_SYN, beta=DECAY_MEM, reset_delay=False)
        self.readout = snn.Leaky(beta=DECAY_OUT, reset_mechanism='none')
        zeros = torch.zeros(1, hidden)
        self.state = [zeros.clone() for _ in range(7)] + [torch.zeros(1, n_out)]
        self.spikes = 0.0

    def step(self, x):
        """
        Advance one control step.

        :param x: observation [n_in], numpy or torch.
        :return: action [n_out] as a numpy array.
        """
        with torch.no_grad():
            x = torch.as_tensor(x, dtype=torch.float32).unsqueeze(0)
            syn1, mem1, ada1, spk1, syn2, mem2, ada2, out = self.state
            cur_in = self.fc_in(x)
            for _ in range(self.sub_steps):
                self.lif1.threshold = 1.0 + ADAPTATION * ada1
                spk1, syn1, mem1 = self.lif1(cur_in, syn1, mem1)
                ada1 = DECAY_ADA * ada1 + spk1
                self.lif2.threshold = 1.0 + ADAPTATION * ada2
                spk2, syn2, mem2 = self.lif2(self.fc_ff(spk1), syn2, mem2)
                ada2 = DECAY_ADA * ada2 + spk2
                _, out = self.readout(self.fc_out(spk2), out)
            self.state = [syn1, mem1, ada1, spk1, syn2, mem2, ada2, out]
            return out[0].numpy()


class NorsePolicy:
    """
    Policy network stepper with Norse LSNN (adaptive LIF) cells.

    nn.Linear + LSNNCell for both feed-forward layers (the method's policy has no
    recurrent weights), nn.Linear + LICell readout; the cell states are carried
    between control steps.
    """

    def __init__(self, n_in, hidden, n_out, sub_steps=7):
        """
        Build the cells and the resting state.

        :param n_in: number of inputs.
        :param hidden: neurons per spiking layer.
        :param n_out: number of actions.
        :param sub_steps: SNN steps per control step.
        """
        self.sub_steps = sub_steps
        torch.manual_seed(1)
        fold = fold_out = 1.0
        self.fc_in = _init_linear(nn.Linear(n_in, hidden), GAIN_IN * fold)
        self.rec = norse.LSNNCell(p=_norse_lsnn_parameters())
        self.fc_ff = _init_linear(nn.Linear(hidden, hidden), GAIN_FF * fold)
        self.ff = norse.LSNNCell(p=_norse_lsnn_parameters())
        self.fc_out = _init_linear(nn.Linear(hidden, n_out), GAIN_OUT * fold_out)
        self.readout = norse.LICell(p=_norse_li_parameters())
        self.state = (None, None, None)

    def step(self, x):
        """
        Advance one control step.

        :param x: observation [n_in], numpy or torch.
        :return: action [n_out] as a numpy array.
        """
        with torch.no_grad():
            x = torch.as_tensor(x, dtype=torch.float32).unsqueeze(0)
            s_rec, s_ff, s_out = self.state
            cur_in = self.fc_in(x)
            for _ in range(self.sub_steps):
                z1, s_rec = self.rec(cur_in, s_rec)
                z2, s_ff = self.ff(self.fc_ff(z1), s_ff)
                out, s_out = self.readout(self.fc_out(z2), s_out)
            self.state = (s_rec, s_ff, s_out)
            return out[0].numpy()


class MatmulFloor:
    """
    The dense matrix multiplies of one BPTT batch of the prediction network, nothing else.

    Forward: input projection of every control step, one recurrent matmul per SNN
    step (sequential), the feed-forward and readout projections over all steps.
    Backward: the per-step recurrent matmul with the transposed weights
    (sequential), the transposed feed-forward and readout matmuls, and every weight
    gradient as one matmul over all steps.  With ``rank`` the recurrent and the
    feed-forward hidden-to-hidden weights are factors U [H, r] V [r, H].  With ``dtype``
    bfloat16 every operand is bfloat16 (the floor of a network under autocast).
    """

    def __init__(self, n_in, hidden, n_out, batch, t_ctrl, sub_steps, rank=None,
                 dtype=torch.float32):
        """
        Allocate weights, activations and gradient buffers.

        :param n_in: number of inputs.
        :param hidden: neurons per spiking layer.
        :param n_out: number of readout units.
        :param batch: batch size.
        :param t_ctrl: control steps.
        :param sub_steps: SNN steps per control step.
        :param rank: None for dense hidden-to-hidden weights, else the factor rank.
        :param dtype: dtype of every operand.
        """
        gen = torch.Generator().manual_seed(0)
        steps = t_ctrl * sub_steps
        self.steps, self.rank, self.t_ctrl = steps, rank, t_ctrl

        def rnd(*shape):
            return torch.randn(*shape, generator=gen).to(dtype)

        def spikes(*shape):
            return (torch.rand(*shape, generator=gen) < 0.1).to(dtype)

        self.x = rnd(t_ctrl * batch, n_in)
        self.w_in = rnd(n_in, hidden)
        if rank is None:
            self.w_rec, self.w_ff = rnd(hidden, hidden), rnd(hidden, hidden)
        else:
            self.w_rec = (rnd(hidden, rank), rnd(rank, hidden))
            self.w_ff = (rnd(hidden, rank), rnd(rank, hidden))
            self.tmp = torch.empty(steps, batch, rank, dtype=dtype)
        self.w_out = rnd(hidden, n_out)
        self.z1 = spikes(steps + 1, batch, hidden)  # z1[0]: spikes before the first step
        self.z2 = spikes(steps * batch, hidden)
        self.g1 = rnd(steps, batch, hidden)  # dL/dI of layer 1 per step
        self.g2 = rnd(steps * batch, hidden)
        self.g_out = rnd(steps * batch, n_out)
        self.rec_out = torch.empty(steps, batch, hidden, dtype=dtype)
        self.rec_grad = torch.empty(steps, batch, hidden, dtype=dtype)

    def _project(self, a, w):
        """
        Multiply by a dense or factored weight.

        :param a: left operand [M, H].
        :param w: [H, H] tensor or (U, V) factors.
        :return: a @ w.
        """
        if isinstance(w, tuple):
            return (a @ w[0]) @ w[1]
        return a @ w

    def _grad_pair(self, a, g, w):
        """
        Return the input and weight gradients of y = a @ w given g = dL/dy.

        :param a: forward input [M, H].
        :param g: output gradient [M, H].
        :param w: dense or (U, V) weight.
        :return: (dL/da, dL/dw) with dL/dw a tuple for factors.
        """
        if isinstance(w, tuple):
            g_mid = g @ w[1].t()
            return g_mid @ w[0].t(), (a.t() @ g_mid, (a @ w[0]).t() @ g)
        return g @ w.t(), a.t() @ g

    def run(self):
        """
        Execute one batch worth of forward and backward matmuls.

        :return: None.
        """
        with torch.no_grad():
            hidden = self.w_in.shape[1]
            z1_flat = self.z1[1:].reshape(-1, hidden)
            # forward
            self.x @ self.w_in
            for k in range(self.steps):
                if self.rank is None:
                    torch.mm(self.z1[k], self.w_rec, out=self.rec_out[k])
                else:
                    torch.mm(self.z1[k], self.w_rec[0], out=self.tmp[k])
                    torch.mm(self.tmp[k], self.w_rec[1], out=self.rec_out[k])
            self._project(z1_flat, self.w_ff)
            self.z2 @ self.w_out
            # backward
            self.g_out @ self.w_out.t()
            self.z2.t() @ self.g_out
            self._grad_pair(z1_flat, self.g2, self.w_ff)
            for k in range(self.steps - 1, -1, -1):
                if self.rank is None:
                    torch.mm(self.g1[k], self.w_rec.t(), out=self.rec_grad[k])
                else:
                    torch.mm(self.g1[k], self.w_rec[1].t(), out=self.tmp[k])
                    torch.mm(self.tmp[k], self.w_rec[0].t(), out=self.rec_grad[k])
            z_prev = self.z1[:-1].reshape(-1, hidden)
            g1_flat = self.g1.reshape(-1, hidden)
            if self.rank is None:
                z_prev.t() @ g1_flat
            else:
                z_prev.t() @ self.tmp.reshape(-1, self.rank)
                (z_prev @ self.w_rec[0]).t() @ g1_flat
            g_in = self.g1.view(self.t_ctrl, -1, self.g1.shape[1], hidden).sum(1)
            self.x.t() @ g_in.reshape(-1, hidden)


class MatvecFloor:
    """
    The dense matrix-vector products of one policy control step at batch 1.

    Per sub-step: feed-forward and readout matvecs; the input projection once per
    control step.
    """

    def __init__(self, n_in, hidden, n_out, sub_steps=7):
        """
        Allocate weights and vectors.

        :param n_in: number of inputs.
        :param hidden: neurons per spiking layer.
        :param n_out: number of actions.
        :param sub_steps: SNN steps per control step.
        """
        self.sub_steps = sub_steps
        # [in, out] layout: x @ w is the fastest batch-1 product here (nn.Linear's
        # [out, in] layout is about 1.7x slower for 512 x 512 at one thread).
        self.w_in = torch.randn(n_in, hidden)
        self.w_ff = torch.randn(hidden, hidden)
        self.w_out = torch.randn(hidden, n_out)
        self.z = (torch.rand(1, hidden) < 0.1).float()

    def step(self, x):
        """
        Do the matvecs of one control step.

        :param x: observation [n_in], numpy or torch.
        :return: a vector [n_out] as numpy.
        """
        with torch.no_grad():
            x = torch.as_tensor(x, dtype=torch.float32).unsqueeze(0)
            x @ self.w_in
            for _ in range(self.sub_steps):
                self.z @ self.w_ff
                out = self.z @ self.w_out
            return out[0].numpy()


def _reference_lif(currents, decay_syn, decay_mem, threshold=1.0, subtract=True):
    """
    Run the reference current-based LIF with subtractive, detached reset.

    :param currents: input currents I_k [T, N].
    :param decay_syn: b_syn.
    :param decay_mem: b_mem.
    :param threshold: theta.
    :param subtract: subtract theta on a spike; False resets mem to 0 instead.
    :return: (spikes [T, N], number of steps*neurons whose post-reset mem > theta).
    """
    syn = torch.zeros_like(currents[0])
    mem = torch.zeros_like(syn)
    out, over = [], 0
    for cur in currents:
        syn = decay_syn * syn + cur
        v = decay_mem * mem + (1.0 - decay_mem) * syn
        z = (v - threshold > 0).to(v.dtype)
        mem = v - threshold * z if subtract else v * (1.0 - z)
        over += int((mem > threshold).sum())
        out.append(z)
    return torch.stack(out), over


def _snntorch_lif(currents, reset_delay, scale_threshold):
    """
    Run snntorch.Synaptic on the reference's input with the parameter mapping.

    alpha = b_syn, beta = b_mem; either the input is scaled by (1 - b_mem) with
    threshold 1, or the input is unscaled with threshold 1 / (1 - b_mem).

    :param currents: reference input currents [T, N].
    :param reset_delay: snnTorch's reset_delay flag.
    :param scale_threshold: use the threshold mapping instead of scaling the input.
    :return: spikes [T, N].
    """
    gain = 1.0 - DECAY_MEM
    thr = 1.0 / gain if scale_threshold else 1.0
    lif = snn.Synaptic(alpha=DECAY_SYN, beta=DECAY_MEM, threshold=thr, reset_delay=reset_delay)
    lif = lif.to(currents.dtype)
    syn = torch.zeros_like(currents[0])
    mem = torch.zeros_like(syn)
    out = []
    for cur in currents:
        spk, syn, mem = lif(cur if scale_threshold else gain * cur, syn, mem)
        out.append(spk)
    return torch.stack(out)


def _norse_lif(currents):
    """
    Run Norse's lif_feed_forward_step with dt * tau_inv = 1 - decay.

    :param currents: reference input currents [T, N].
    :return: spikes [T, N].
    """
    p = _norse_lif_parameters()
    p = p._replace(tau_syn_inv=p.tau_syn_inv.to(currents.dtype),
                   tau_mem_inv=p.tau_mem_inv.to(currents.dtype))
    state = LIFFeedForwardState(v=torch.zeros_like(currents[0]), i=torch.zeros_like(currents[0]))
    out = []
    for cur in currents:
        z, state = lif_feed_forward_step(cur, state, p, dt=NORSE_DT)
        out.append(z)
    return torch.stack(out)


def check_lif_equivalence(steps=2000, neurons=1000, dtype=torch.float64):
    """
    Compare the spike trains of snnTorch Synaptic and Norse LIF with the reference.

    Inputs are i.i.d. Gaussian currents per step and neuron in a moderate regime
    (post-reset membrane rarely above threshold) and a strong one.

    :param steps: SNN steps.
    :param neurons: independent neurons.
    :param dtype: floating dtype of all runs.
    :return: list of (regime, variant, mismatching spikes, reference spikes,
        first mismatching step or -1, post-reset-above-threshold count).
    """
    gen = torch.Generator().manual_seed(0)
    rows = []
    for regime, mean, std in (('moderate', 0.25, 0.5), ('strong', 1.0, 1.0)):
        cur = (mean + std * torch.randn(steps, neurons, generator=gen)).to(dtype)
        ref, over = _reference_lif(cur, DECAY_SYN, DECAY_MEM)
        variants = {
            'snntorch reset_delay=True, input*(1-b_mem)': _snntorch_lif(cur, True, False),
            'snntorch reset_delay=False, input*(1-b_mem)': _snntorch_lif(cur, False, False),
            'snntorch reset_delay=False, threshold=1/(1-b_mem)': _snntorch_lif(cur, False, True),
            'norse lif_feed_forward_step': _norse_lif(cur),
        }
        ref_zero, over_zero = _reference_lif(cur, DECAY_SYN, DECAY_MEM, subtract=False)
        compare = [(name, spikes, ref, over) for name, spikes in variants.items()]
        compare.append(('norse vs reference with reset to 0',
                        variants['norse lif_feed_forward_step'], ref_zero, over_zero))
        for name, spikes, expected, n_over in compare:
            diff = (spikes != expected).any(dim=1).nonzero()
            first = int(diff[0]) if len(diff) else -1
            rows.append((regime, name, int((spikes != expected).sum()), int(expected.sum()),
                         first, n_over))
    return rows


def observations(steps, n_in, seed=0):
    """
    Return a smooth random observation sequence for the control-step benchmark.

    :param steps: number of control steps.
    :param n_in: observation size.
    :param seed: RNG seed.
    :return: float32 numpy array [steps, n_in].
    """
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 2 * np.pi, n_in)
    t = np.arange(steps)[:, None] * 0.05
    noise = 0.1 * rng.standard_normal((steps, n_in))
    return (np.sin(t + phase) + noise).astype(np.float32)
