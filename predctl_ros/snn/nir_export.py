# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
r"""
Export of a trained LIF network to NIR, the Neuromorphic Intermediate Representation.

One NIR step is one SNN step ``dt_s``.  The graph, node by node::

    input -> input_scale -> layer0_ff -> layer0_lif [<-> layer0_rec] -> layer1_ff -> ...
          -> readout_ff -> readout_li -> output

* ``input_scale``: Affine with a diagonal weight, ``(x - input_mean) / input_std *
  input_scale``: the fixed normalisation and the learned per-input current scale.
* ``layer{i}_ff``: Affine (feed-forward weights and the layer's bias); ``layer{i}_rec``:
  Linear (recurrent weights, fed back into the same CubaLIF).
* ``layer{i}_lif``: CubaLIF with per-neuron time constants and thresholds.
* ``readout_ff`` + ``readout_li``: the leaky readout as an Affine into an LI.

NIR states its neurons as ODEs and leaves the discretisation to the consumer; Norse
(``from_nir(graph, dt=...)``) integrates them by forward Euler at the step it is given:
:math:`I_k = (1 - \Delta t/\tau_{syn}) I_{k-1} + (\Delta t/\tau_{syn}) w_{in} S_k`,
:math:`v_k = (1 - \Delta t/\tau_{mem}) v_{k-1} + (\Delta t/\tau_{mem}) r I_k`.  The
parameters below make that Euler step equal ours (:mod:`predctl_ros.snn.neurons`),
:math:`I_k = \beta_{syn} I_{k-1} + S_k`, :math:`v_k = \beta_{mem} v_{k-1} + (1 - \beta_{mem})
I_k`:

.. math::

    \tau' = \Delta t / (1 - \beta), \qquad w_{in} = \tau'_{syn} / \Delta t, \qquad r = 1

so :math:`\tau'` is slightly longer than the network's own :math:`\tau` (about
:math:`\tau + \Delta t / 2`); the network's own values are kept in each node's
metadata.  What NIR cannot say is carried in the graph's metadata: the step, the
subtractive reset, the sampling of the output once per control step, and the policy's
tanh (docs/snn.md, "NIR export").
"""

from pathlib import Path

import nir
import numpy as np
from predctl_ros import __version__
from predctl_ros.atomic import atomic_path
import torch

# The graph's metadata keys a consumer needs to run it as the network runs.
RESET = ('subtract: on a spike v -= v_threshold (NIR 1.0 specifies a reset to v_reset; '
         'import with a subtractive reset, e.g. Norse from_nir(reset_method=reset_subtract))')
SAMPLING = ('hold each control input for substeps SNN steps; the control output is the '
            'readout (after output_nonlinearity) at the last of them')
TIME_CONSTANTS = ('forward-Euler equivalents at dt_s: tau = dt_s / (1 - exp(-dt_s / tau_s)), '
                  "w_in = tau_syn / dt_s, r = 1; the network's own tau_s are in each "
                  "node's metadata")


class NIRExportError(ValueError):
    """A network that NIR cannot express exactly."""


def check_exportable(net, name: str = 'network') -> None:
    """
    Refuse networks that have no exact NIR counterpart.

    :param net: the network to export.
    :param name: its name in the checkpoint ('policy' or 'prediction'), for messages.
    """
    spec = getattr(net, 'spec', None)
    if spec is None or spec.arch != 'snn':
        arch = getattr(spec, 'arch', type(net).__name__)
        raise NIRExportError(f'network {name!r} is the non-spiking {arch!r} baseline; '
                             'NIR export covers spiking networks only')
    if spec.neuron != 'lif':
        section = 'policy' if spec.role == 'policy' else 'model'
        raise NIRExportError(
            f'network {name!r} uses adaptive-threshold (ALIF) neurons, which NIR cannot '
            'express: it has no adaptive-threshold neuron, and no graph of its nodes can '
            'subtract the adapted threshold on a spike (the product of two signals, which no '
            f'NIR node computes); train a LIF network instead (neuron: lif in the training '
            f"config's {section}: section, or --set {section}.neuron=lif)")


def _f64(t: torch.Tensor) -> np.ndarray:
    return t.detach().to('cpu', torch.float64).numpy().copy()


def _euler_tau(decay: torch.Tensor, dt_s: float) -> np.ndarray:
    # From the decay the network computes (float32), not from tau: that decay is the truth
    # that the stepper and the training scan both use.
    return dt_s / (1.0 - _f64(decay))


def _matrix(conn) -> np.ndarray:
    # A low-rank W2 @ W1 is exported as its product: NIR's targets put weights on synapses
    # between neuron populations, and the d latent units are no population (a Linear ->
    # Linear chain that a chip would have to fuse anyway).  The product is the same map,
    # rounded once in float64; the rank is in the graph's metadata, and an SVD recovers
    # the factors.
    return _f64(conn.w2) @ _f64(conn.w1) if hasattr(conn, 'rank') else _f64(conn.weight)


def _input_node(net) -> nir.Affine:
    gain = _f64(net.input_scale) / _f64(net.input_std)
    # A diagonal Affine rather than a Scale node: the normalisation needs an offset, and
    # Affine is the one node every consumer maps.
    return nir.Affine(weight=np.diag(gain), bias=-_f64(net.input_mean) * gain,
                      metadata={'meaning': '(x - input_mean) / input_std * input_scale'})


def _neuron_node(layer, dt_s: float) -> nir.CubaLIF:
    p = layer.parameters_for_step()
    tau_syn = _euler_tau(p.decay_syn, dt_s)
    tau_mem = _euler_tau(p.decay_mem, dt_s)
    n = layer.size
    return nir.CubaLIF(
        tau_syn=tau_syn, tau_mem=tau_mem, r=np.ones(n), v_leak=np.zeros(n),
        v_threshold=np.full(n, float(layer.threshold)), v_reset=np.zeros(n),
        w_in=tau_syn / dt_s,
        metadata={'reset': 'subtract', 'tau_syn_s': _f64(layer.tau_syn.tau_s()),
                  'tau_mem_s': _f64(layer.tau_mem.tau_s())})


def _readout_nodes(readout, dt_s: float):
    n = readout.weight.shape[0]
    ff = nir.Affine(weight=_f64(readout.weight), bias=_f64(readout.bias))
    li = nir.LI(tau=_euler_tau(readout.tau.decay(dt_s), dt_s), r=np.ones(n),
                v_leak=np.zeros(n), metadata={'tau_s': _f64(readout.tau.tau_s())})
    return ff, li


def to_nir(net, name: str = 'network', task=None) -> nir.NIRGraph:
    """
    Convert a LIF SpikingNet to a NIR graph of one SNN step.

    :param net: the network (a SpikingNet with neuron 'lif').
    :param name: its name in the checkpoint, recorded in the metadata.
    :param task: the task it was trained on, recorded in the metadata (None: omitted).
    :return: the graph; its metadata says how to run it (module docstring).
    """
    check_exportable(net, name)
    spec = net.spec
    nodes = {'input': nir.Input(input_type=np.array([spec.n_in])),
             'input_scale': _input_node(net)}
    edges = [('input', 'input_scale')]
    prev = 'input_scale'
    for i, layer in enumerate(net.layers):
        ff, lif = f'layer{i}_ff', f'layer{i}_lif'
        nodes[ff] = nir.Affine(weight=_matrix(layer.ff), bias=_f64(layer.bias))
        nodes[lif] = _neuron_node(layer, spec.dt_s)
        edges += [(prev, ff), (ff, lif)]
        if layer.rec is not None:
            # The cycle is what makes the input of step k the spikes of step k - 1: graph
            # executors feed a node the last value of an input not yet computed this step.
            rec = f'layer{i}_rec'
            nodes[rec] = nir.Linear(weight=_matrix(layer.rec))
            edges += [(lif, rec), (rec, lif)]
        prev = lif
    nodes['readout_ff'], nodes['readout_li'] = _readout_nodes(net.readout, spec.dt_s)
    nodes['output'] = nir.Output(output_type=np.array([spec.n_out]))
    edges += [(prev, 'readout_ff'), ('readout_ff', 'readout_li'), ('readout_li', 'output')]
    metadata = {
        'source': f'predctl_ros {__version__}', 'network': name, 'role': spec.role,
        'neuron': spec.neuron, 'dt_s': float(spec.dt_s), 'substeps': int(spec.substeps),
        'control_dt_s': float(spec.control_dt_s), 'time_constants': TIME_CONSTANTS,
        'reset': RESET, 'sampling': SAMPLING,
        'output_nonlinearity': 'tanh' if spec.tanh else 'none',
        'weights': ('dense' if spec.rank is None else
                    f'rank {spec.rank}: hidden-to-hidden and recurrent weights stored as '
                    'the product W2 @ W1')}
    if spec.tanh:
        metadata['output_nonlinearity_note'] = ('NIR has no tanh node: apply tanh to the '
                                                'sampled readout')
    if task is not None:
        metadata['task'] = str(task)
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata)


def write_nir(graph: nir.NIRGraph, path) -> Path:
    """
    Write a graph to a NIR (HDF5) file atomically.

    :param graph: the graph.
    :param path: destination, conventionally *.nir.
    :return: the path written.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        nir.write(tmp, graph)
    return path
