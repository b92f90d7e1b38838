# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Energy estimate of a policy per control step: published energies per operation times counts.

A spiking policy is costed three ways, a non-spiking one (``arch: mlp``) one way:

* **neuromorphic**: the measured SynOps (spikes times the synapses each reaches) at
  Loihi's energy per synaptic spike op, every neuron update at Loihi's energy per active
  neuron update, and the products whose operand is not spikes (the analog input current,
  the second factor of a low-rank weight) as float32 MACs of conventional hardware;
* **dense equivalent** of the same network on conventional hardware: every weight of
  every product computed each time the network computes it, i.e. the spike-driven
  synapses every SNN step, either as float32 accumulates (a spike operand is 0 or 1, so
  no multiply is needed) or as float32 MACs (what a dense matmul does);
* **MLP**: the MACs of the ReLU MLP a policy spec with ``arch: mlp`` builds
  (:class:`predctl_ros.snn.networks.MLPNet`) with the same inputs and outputs, once per
  control step; by default with the spiking network's hidden sizes (``predctl eval`` uses
  the non-spiking baseline's, ``BASELINE_HIDDEN`` in :mod:`predctl_ros.learning.train`).

Counts come from the modules' weight shapes (:func:`products`), so a low-rank weight
``W2 W1`` counts its two factors as the forward pass computes them. Energies are per
control step in microjoules; times the control rate they are microwatts (microjoules per
second of control). Only weight products and neuron updates are counted: memory traffic,
biases, nonlinearities and the conventional side's neuron state updates are not.
"""

from typing import Any, Dict, List, NamedTuple, Optional, Sequence

from predctl_ros.snn.connections import LowRankConnection
from predctl_ros.snn.networks import build_network, MLPNet, SpikingNet
import torch
from torch import nn

# M. Horowitz, "1.1 Computing's energy problem (and what we can do about it)", ISSCC 2014,
# Digest of Technical Papers, pp. 10-14, doi:10.1109/ISSCC.2014.6757323: energy per
# operation in 45 nm CMOS at 0.9 V.
FP32_MULT_PJ = 3.7
"""32-bit floating-point multiply, pJ (Horowitz 2014)."""
FP32_ADD_PJ = 0.9
"""32-bit floating-point add, pJ (Horowitz 2014)."""
FP32_MAC_PJ = FP32_MULT_PJ + FP32_ADD_PJ
"""32-bit floating-point multiply-accumulate: a multiply and an add, pJ."""
FP32_AC_PJ = FP32_ADD_PJ
"""32-bit floating-point accumulate (a synapse driven by a binary spike), pJ."""

# M. Davies et al., "Loihi: A neuromorphic manycore processor with on-chip learning",
# IEEE Micro 38(1):82-99, 2018, doi:10.1109/MM.2018.112130359, Table 2 (pre-silicon SDF
# and SPICE simulation of the 14 nm chip, which the paper calls consistent with early
# post-silicon characterization).
LOIHI_SYNOP_PJ = 23.6
"""Loihi "energy per synaptic spike op (min)", pJ (Davies et al. 2018, Table 2)."""
LOIHI_NEURON_UPDATE_PJ = 81.0
"""Loihi "energy per neuron update (active / inactive)": the active 81 pJ of 81 / 52 pJ
(Davies et al. 2018, Table 2); every neuron here integrates input every SNN step."""

PJ_PER_UJ = 1e6


class Product(NamedTuple):
    """One weight product of a forward pass: an [n_out, n_in] matrix times a vector."""

    name: str
    """Where the weight lives, e.g. 'layers.1.ff.w1'."""
    n_in: int
    """Inputs (columns of the weight)."""
    n_out: int
    """Outputs (rows of the weight)."""
    per_step: int
    """Times the product is computed per control step."""
    spike_input: bool
    """The operand is spikes (0 or 1): each synapse is an accumulate, and on
    neuromorphic hardware only the synapses of neurons that spiked are touched."""

    @property
    def synapses(self) -> int:
        """
        Return the weights used per control step when all are computed (dense).

        :return: n_in * n_out * per_step.
        """
        return self.n_in * self.n_out * self.per_step


def _connection(name: str, connection: nn.Module, per_step: int,
                spike_input: bool) -> List[Product]:
    if isinstance(connection, LowRankConnection):
        # x -> W1 x -> W2 (W1 x): the latent W1 x is analog whatever x is.
        return [Product(f'{name}.w1', connection.n_in, connection.rank, per_step, spike_input),
                Product(f'{name}.w2', connection.rank, connection.n_out, per_step, False)]
    return [Product(name, connection.n_in, connection.n_out, per_step, spike_input)]


def products(net: nn.Module) -> List[Product]:
    """
    List the weight products of one control step of a policy, from its modules' shapes.

    :param net: a SpikingNet or an MLPNet.
    :return: the products in forward order.
    :raises TypeError: for another network (the GRU is a prediction network, not a policy).
    """
    if isinstance(net, MLPNet):
        return [Product(name, m.in_features, m.out_features, 1, False)
                for name, m in net.named_modules() if isinstance(m, nn.Linear)]
    if not isinstance(net, SpikingNet):
        raise TypeError(f'no energy model for {type(net).__name__}; a policy is a '
                        'SpikingNet or an MLPNet')
    substeps = net.spec.substeps
    out = []
    for i, layer in enumerate(net.layers):
        # forward holds each control step's input for all substeps: the first layer's
        # input current is computed once per control step, the others' every SNN step.
        per_step = 1 if i == 0 else substeps
        out += _connection(f'layers.{i}.ff', layer.ff, per_step, layer.spike_input)
        if layer.rec is not None:
            out += _connection(f'layers.{i}.rec', layer.rec, substeps, True)
    n_out, n_last = net.readout.weight.shape
    out.append(Product('readout', n_last, n_out, substeps, True))
    return out


def neuron_updates(net: SpikingNet) -> int:
    """
    Return the neuron state updates of one control step: hidden neurons and readout units.

    :param net: a SpikingNet.
    :return: (sum of hidden sizes + outputs) * substeps.
    """
    units = sum(layer.size for layer in net.layers) + net.readout.weight.shape[0]
    return units * net.spec.substeps


def mlp_like(net: SpikingNet, hidden: Optional[Sequence[int]] = None) -> MLPNet:
    """
    Build (without weights) the MLP of a spiking network's inputs and outputs.

    :param net: a SpikingNet.
    :param hidden: hidden sizes of the MLP (default: the spiking network's).
    :return: an MLPNet on the meta device, as a spec with ``arch: mlp`` builds it.
    """
    hidden = tuple(net.spec.hidden if hidden is None else hidden)
    with torch.device('meta'):
        return build_network(net.spec.replace(arch='mlp', hidden=hidden, rank=None,
                                              recurrent=(False,) * len(hidden)))


def _synapses(items: List[Product], spike_input: bool) -> int:
    return sum(p.synapses for p in items if p.spike_input == spike_input)


def mlp_estimate(net: MLPNet, control_dt_s: float) -> Dict[str, Any]:
    """
    Return the MLP's MACs and energy per control step, and its power at the control rate.

    :param net: an MLPNet.
    :param control_dt_s: control period in seconds.
    :return: dict with control_rate_hz, mlp_hidden, mlp_macs_per_step, mlp_uj, mlp_uw.
    """
    macs = _synapses(products(net), False)
    rate = 1.0 / control_dt_s
    uj = macs * FP32_MAC_PJ / PJ_PER_UJ
    return {'control_rate_hz': rate, 'mlp_hidden': list(net.spec.hidden),
            'mlp_macs_per_step': macs, 'mlp_uj': uj, 'mlp_uw': uj * rate}


def snn_estimate(net: SpikingNet, synops_per_step: float, control_dt_s: float,
                 mlp_hidden: Optional[Sequence[int]] = None) -> Dict[str, Any]:
    """
    Return the counts and energies of a spiking policy per control step (module docstring).

    :param net: a SpikingNet.
    :param synops_per_step: measured SynOps per control step
        (:class:`predctl_ros.snn.monitors.ActivityMonitor`).
    :param control_dt_s: control period in seconds.
    :param mlp_hidden: hidden sizes of the MLP compared with (default: the network's).
    :return: dict of counts per control step (``*_per_step``), energies per control step
        in microjoules (``*_uj``) and powers at the control rate in microwatts (``*_uw``),
        the MLP's (``mlp_*``, its hidden sizes in ``mlp_hidden``) included.
    """
    items = products(net)
    analog, spiking = _synapses(items, False), _synapses(items, True)
    updates = neuron_updates(net)
    mlp = mlp_estimate(mlp_like(net, mlp_hidden), control_dt_s)
    rate = mlp['control_rate_hz']
    energy = {
        'loihi_synops_uj': synops_per_step * LOIHI_SYNOP_PJ / PJ_PER_UJ,
        'loihi_neuron_updates_uj': updates * LOIHI_NEURON_UPDATE_PJ / PJ_PER_UJ,
        'analog_macs_uj': analog * FP32_MAC_PJ / PJ_PER_UJ,
    }
    energy['neuromorphic_uj'] = sum(energy.values())
    energy['dense_ac_uj'] = (analog * FP32_MAC_PJ + spiking * FP32_AC_PJ) / PJ_PER_UJ
    energy['dense_mac_uj'] = (analog + spiking) * FP32_MAC_PJ / PJ_PER_UJ
    out = {'control_rate_hz': rate, 'synops_per_step': synops_per_step,
           'neuron_updates_per_step': updates, 'analog_macs_per_step': analog,
           'spike_synapses_per_step': spiking, 'mlp_hidden': mlp['mlp_hidden'],
           'mlp_macs_per_step': mlp['mlp_macs_per_step'],
           **energy, 'mlp_uj': mlp['mlp_uj']}
    for key in ('neuromorphic', 'dense_ac', 'dense_mac'):
        out[f'{key}_uw'] = energy[f'{key}_uj'] * rate
    out['mlp_uw'] = mlp['mlp_uw']
    return out
