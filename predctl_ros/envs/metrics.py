# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
r"""
Per-episode reaching metrics and their summary over a test set.

For an episode with end-effector positions :math:`p_1 \dots p_T` after each control
step (goal units) and goal :math:`g`, :math:`d_t = \lVert p_t - g \rVert_2`:

* ``final_distance`` :math:`d_T`; ``min_distance`` :math:`\min_t d_t`;
* ``integrated_distance`` :math:`\Delta t \sum_t d_t` (goal units x s);
* ``steps_to_target``: the first t (1-based) with :math:`d_t <` ``success_threshold``,
  -1 when never;
* ``steps_on_target``: how many t have :math:`d_t <` ``success_threshold``;
* ``success``: :math:`d_T <` ``success_threshold``;
* ``authors_success``: the authors' test, distance (L2 for the Panda, per axis for
  reach2d) below ``authors_threshold`` at some step;
* ``velocity_limit_steps`` (when the steps' ``info['velocity_limited']`` are given): how
  many control steps drove some joint into its velocity limit, each a motion the real
  robot would have stopped with a reflex (:mod:`predctl_ros.envs.physics`).
"""

import numpy as np

METRIC_KEYS = ('final_distance', 'min_distance', 'integrated_distance', 'steps_to_target',
               'steps_on_target', 'success', 'authors_success')


def _resolve_spec(task):
    from predctl_ros.envs.tasks import task_spec, TaskSpec
    if isinstance(task, TaskSpec):
        return task
    return task_spec(task)


def episode_metrics(ee_positions, goal, task='panda_reach', *, success_threshold=None,
                    control_dt_s=None, velocity_limited=None) -> dict:
    """
    Compute the metrics of one episode or a batch of episodes.

    :param ee_positions: end-effector positions after each step, [T, G] or [N, T, G],
        in goal units (the ``info['ee']`` of the environments).
    :param goal: goal [G] or [N, G].
    :param task: task id or TaskSpec (thresholds, norm and control period).
    :param success_threshold: override of ``spec.success_threshold``.
    :param control_dt_s: override of ``spec.control_dt_s``.
    :param velocity_limited: optional bool [T] or [N, T]: the steps' velocity clamps.
    :return: dict of the METRIC_KEYS (and ``velocity_limit_steps`` with
        velocity_limited): floats/ints/bools for one episode, arrays [N] for a batch.
    :raises ValueError: on mismatched shapes or non-finite input.
    """
    spec = _resolve_spec(task)
    threshold = spec.success_threshold if success_threshold is None else success_threshold
    dt = spec.control_dt_s if control_dt_s is None else control_dt_s
    ee = np.asarray(ee_positions, dtype=float)
    goal = np.asarray(goal, dtype=float)
    single = ee.ndim == 2
    if single:
        ee, goal = ee[None], goal[None]
    if ee.ndim != 3 or goal.shape != (ee.shape[0], ee.shape[2]) or ee.shape[1] < 1:
        raise ValueError(f'ee_positions must be [T, G] or [N, T, G] with T >= 1 and goal [G] '
                         f'or [N, G]; got {np.shape(ee_positions)} and {np.shape(goal)}')
    if not (np.isfinite(ee).all() and np.isfinite(goal).all()):
        raise ValueError('ee_positions and goal must be finite')
    error = ee - goal[:, None, :]
    dist = np.linalg.norm(error, axis=-1)
    on = dist < threshold
    reached = on.any(axis=1)
    if spec.authors_norm == 'linf':
        authors = (np.abs(error).max(axis=-1) < spec.authors_threshold).any(axis=1)
    else:
        authors = (dist < spec.authors_threshold).any(axis=1)
    out = {
        'final_distance': dist[:, -1],
        'min_distance': dist.min(axis=1),
        'integrated_distance': dist.sum(axis=1) * dt,
        'steps_to_target': np.where(reached, on.argmax(axis=1) + 1, -1),
        'steps_on_target': on.sum(axis=1),
        'success': dist[:, -1] < threshold,
        'authors_success': authors,
    }
    if velocity_limited is not None:
        limited = np.asarray(velocity_limited, dtype=bool).reshape(dist.shape)
        out['velocity_limit_steps'] = limited.sum(axis=1)
    if single:
        return {key: value[0].item() for key, value in out.items()}
    return out


def summarize_metrics(metrics: dict) -> dict:
    """
    Summarise batched episode metrics over a test set.

    :param metrics: output of :func:`episode_metrics` for a batch.
    :return: dict with episodes, median/mean final distance, median min distance, mean
        integrated distance, success_rate, authors_success_rate, median steps to target
        over the episodes that reached it (None when none did) and, where measured, the
        velocity-limit steps of all episodes and the share of episodes with any.
    """
    final = np.asarray(metrics['final_distance'], dtype=float)
    steps = np.asarray(metrics['steps_to_target'])
    reached = steps[steps > 0]
    summary = {
        'episodes': int(final.size),
        'median_final_distance': float(np.median(final)),
        'mean_final_distance': float(np.mean(final)),
        'median_min_distance': float(np.median(metrics['min_distance'])),
        'mean_integrated_distance': float(np.mean(metrics['integrated_distance'])),
        'success_rate': float(np.mean(metrics['success'])),
        'authors_success_rate': float(np.mean(metrics['authors_success'])),
        'median_steps_to_target': float(np.median(reached)) if reached.size else None,
    }
    if 'velocity_limit_steps' in metrics:
        limited = np.asarray(metrics['velocity_limit_steps'])
        summary['velocity_limit_steps'] = int(limited.sum())
        summary['velocity_limit_episode_rate'] = float(np.mean(limited > 0))
    return summary
