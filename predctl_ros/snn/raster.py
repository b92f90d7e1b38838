# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Spike raster of a spiking policy over an episode, beside what it did.

One figure, time on a shared axis: a raster per hidden layer (a dot per spike), the
readout (the actions, in [-1, 1]) and the distance to the goal. The network runs
``substeps`` SNN steps of ``dt_s`` per control step, which can be less than the control
period (7 x 2 ms in a 20 ms period); the raster spreads each control step's sub-steps
evenly over its period so that a spike lines up with the action it led to.
"""

from pathlib import Path
from typing import List, Optional, Sequence

import matplotlib
matplotlib.use('Agg')  # noqa: E402 - headless: choose the backend before pyplot
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot_raster(path, rasters: Sequence[np.ndarray], *, dt_s: float, control_dt_s: float,
                actions: np.ndarray, distance: np.ndarray,
                goal_steps: Sequence[int] = (), success_threshold: Optional[float] = None,
                distance_unit: str = 'm', title: str = '') -> List[int]:
    """
    Draw the episode's spikes, actions and distance to the goal into an image file.

    :param path: image file (PNG).
    :param rasters: per hidden layer, spikes bool [K, neurons] over the episode's K SNN
        steps (``SpikeRecorder.raster``); K a multiple of the T control steps.
    :param dt_s: SNN step in seconds (for the firing rates).
    :param control_dt_s: control period in seconds (the time axis).
    :param actions: actions [T, action_size].
    :param distance: distance to the goal after each control step [T].
    :param goal_steps: control steps at which a new goal was sent (marked in every panel).
    :param success_threshold: drawn in the distance panel.
    :param distance_unit: unit of the distance, for its axis label.
    :param title: figure title.
    :return: the spike count of each layer, as drawn.
    :raises ValueError: when the rasters, actions and distances cover different steps.
    """
    actions, distance = np.asarray(actions), np.asarray(distance)
    steps = len(distance)
    if actions.shape[0] != steps or steps == 0:
        raise ValueError(f'need actions and distances of the same >= 1 control steps, got '
                         f'{actions.shape[0]} and {steps}')
    for i, raster in enumerate(rasters):
        if raster.shape[0] % steps:
            raise ValueError(f'layer {i + 1}: {raster.shape[0]} SNN steps are not a multiple '
                             f'of {steps} control steps')
    panels = len(rasters) + 2
    fig, axes = plt.subplots(panels, 1, sharex=True, figsize=(10, 1.6 + 1.7 * panels),
                             gridspec_kw={'height_ratios': [2.2] * len(rasters) + [1, 1]})
    counts = []
    for i, (ax, raster) in enumerate(zip(axes, rasters)):
        k, neuron = np.nonzero(raster)
        substeps = raster.shape[0] // steps
        # The end of sub-step j of control step t, sub-steps spread over the period.
        t = (k // substeps + (k % substeps + 1) / substeps) * control_dt_s
        ax.plot(t, neuron, linestyle='', marker='|', markersize=1.6, markeredgewidth=0.4,
                color='k', rasterized=True)
        counts.append(int(raster.sum()))
        size = raster.shape[1]
        rate = counts[-1] / (size * raster.shape[0] * dt_s)
        ax.set_ylim(-0.5, size - 0.5)
        ax.set_ylabel('neuron')
        ax.set_title(f'hidden layer {i + 1}: {size} neurons, {counts[-1]} spikes '
                     f'(mean {rate:.1f} Hz)', fontsize=10)
    ax_action, ax_distance = axes[-2], axes[-1]
    edges = np.arange(steps + 1) * control_dt_s
    for j in range(actions.shape[1]):
        ax_action.stairs(actions[:, j], edges, label=f'a{j + 1}', linewidth=1.0)
    ax_action.set_ylim(-1.08, 1.08)
    ax_action.set_ylabel('action')
    ax_action.set_title('readout: actions (torque / limit)', fontsize=10)
    ax_action.legend(loc='upper right', ncol=actions.shape[1], fontsize=7, frameon=False)
    ax_distance.plot(edges[1:], distance, color='C3')
    if success_threshold is not None:
        ax_distance.axhline(success_threshold, color='0.5', linestyle='--', linewidth=1)
    ax_distance.set_ylim(bottom=0.0)
    ax_distance.set_ylabel(f'distance ({distance_unit})')
    ax_distance.set_title('distance to the goal', fontsize=10)
    ax_distance.set_xlabel('time (s)')
    ax_distance.set_xlim(0.0, edges[-1])
    for ax in axes:
        for step in goal_steps:
            if step > 0:
                ax.axvline(step * control_dt_s, color='C0', linestyle=':', linewidth=1)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return counts
