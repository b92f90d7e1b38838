# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
r"""
How good the forward model P is, on episodes it was not trained on.

A policy trained through P can only be as good as P's predictions of what its actions
do, so P is measured against the two answers that need no model at all:

* one-step error (teacher forced, every step of the window fed the true state): mean
  squared error of :math:`\hat s_{t+1}` against "no change" (:math:`s_{t+1} = s_t`) and
  against "the arm stands still" (:math:`s_t` with its joint velocities set to 0; the same
  as "no change" for an observation without velocities);
* free-run end-effector error: after the warm-up P runs on its own predictions for the
  horizon, given the recorded actions; the mean distance of its end effector from the
  recorded one, against the arm standing still where the horizon starts.

A ratio below 1 beats the baseline. Training gates policy updates on the free-run ratio
(``TrainConfig.gate_policy``): a policy optimised through a P that does not beat "stands
still" learns P's errors. :func:`imagined_and_real_distance` compares the distance to the
goal that the policy reaches in P's imagination with the one it reached in the simulator
from the same state, so a policy that exploits P's errors shows. :func:`action_effect`
asks what the policy's gradient asks: does P move the hand the way the simulator does when
an action changes?
"""

from typing import NamedTuple

import numpy as np
import torch


class Windows(NamedTuple):
    """Windows cut from whole episodes, time first."""

    obs: np.ndarray
    """[L + 1, B, n_obs]."""
    action: np.ndarray
    """[L, B, n_act]."""
    goal: np.ndarray
    """[B, n_goal]."""


def episode_windows(obs: np.ndarray, action: np.ndarray, goal: np.ndarray, length: int,
                    stride: int) -> Windows:
    """
    Cut every episode into windows of ``length`` steps, ``stride`` steps apart.

    :param obs: [T + 1, N, n_obs] of N episodes.
    :param action: [T, N, n_act].
    :param goal: [N, n_goal].
    :param length: L, steps per window.
    :param stride: steps between window starts.
    :return: Windows over all episodes and offsets.
    :raises ValueError: when the episodes are shorter than a window.
    """
    steps = action.shape[0]
    if length > steps:
        raise ValueError(f'windows of {length} steps need episodes that long, got {steps}')
    starts = range(0, steps - length + 1, max(1, int(stride)))
    return Windows(np.concatenate([obs[s:s + length + 1] for s in starts], axis=1),
                   np.concatenate([action[s:s + length] for s in starts], axis=1),
                   np.concatenate([goal] * len(starts), axis=0))


def _device(net) -> torch.device:
    # Where the network's weights are; the measurements build their inputs there.
    return next((p.device for p in net.parameters()), torch.device('cpu'))


def _still(obs: torch.Tensor, velocity_dims) -> torch.Tensor:
    out = obs.clone()
    out[..., velocity_dims] = 0.0
    return out


@torch.no_grad()
def prediction_quality(model, windows: Windows, warmup: int, horizon: int, ee_slice: slice,
                       velocity_dims=()) -> dict:
    """
    Measure P on windows of warmup + horizon steps.

    :param model: forward model (s, a) -> state change, sequence API.
    :param windows: held-out windows of at least warmup + horizon steps.
    :param warmup: W, steps that set P's state before any error counts.
    :param horizon: H, steps scored.
    :param ee_slice: end-effector position in the observation.
    :param velocity_dims: observation indices of joint velocities (zero for "stands still").
    :return: {'one_step_error', 'one_step_vs_no_change', 'one_step_vs_still',
        'free_run_ee_error', 'free_run_vs_still'} as floats.
    """
    device = _device(model)
    obs = torch.as_tensor(windows.obs[:warmup + horizon + 1], dtype=torch.float32,
                          device=device)
    act = torch.as_tensor(windows.action[:warmup + horizon], dtype=torch.float32,
                          device=device)
    velocity_dims = list(velocity_dims)
    delta, _ = model(torch.cat((obs[:-1], act), -1))
    target = obs[1:][warmup:]
    one_step = float(((obs[:-1] + delta)[warmup:] - target).pow(2).mean())
    no_change = float((obs[:-1][warmup:] - target).pow(2).mean())
    still = float((_still(obs[:-1][warmup:], velocity_dims) - target).pow(2).mean())

    state = None
    if warmup:
        _, state = model(torch.cat((obs[:warmup], act[:warmup]), -1))
    s, predicted = obs[warmup], []
    for t in range(warmup, warmup + horizon):
        d, state = model(torch.cat((s, act[t]), -1)[None], state)
        s = s + d[0]
        predicted.append(s[:, ee_slice])
    ee_true = obs[warmup + 1:, :, ee_slice]
    free = float((torch.stack(predicted) - ee_true).norm(dim=-1).mean())
    standing = float((obs[warmup, :, ee_slice][None] - ee_true).norm(dim=-1).mean())
    ratio = (lambda a, b: a / b if b > 0 else float('inf'))
    return {'one_step_error': one_step, 'one_step_vs_no_change': ratio(one_step, no_change),
            'one_step_vs_still': ratio(one_step, still), 'free_run_ee_error': free,
            'free_run_vs_still': ratio(free, standing)}


@torch.no_grad()
def imagined_and_real_distance(policy, model, windows: Windows, warmup: int, horizon: int,
                               ee_slice: slice) -> tuple:
    """
    Return the policy's mean distance to the goal imagined through P and as recorded.

    The windows must come from episodes the same policy drove: both numbers then start
    from the same state and differ only by P's errors (and collection noise).

    :param policy: policy (s, g) -> action.
    :param model: forward model.
    :param windows: windows of warmup + horizon steps.
    :param warmup: W, recorded steps that set both networks' states.
    :param horizon: H, imagined steps.
    :param ee_slice: end-effector position in the observation.
    :return: (imagined, real) mean Euclidean distances over the H steps, goal units.
    """
    device = _device(model)
    obs, act, goal = (torch.as_tensor(a, dtype=torch.float32, device=device)
                      for a in (windows.obs, windows.action, windows.goal))
    goals = goal[None].expand(warmup, -1, -1)
    pi_state = model_state = None
    if warmup:
        _, pi_state = policy(torch.cat((obs[:warmup], goals), -1))
        _, model_state = model(torch.cat((obs[:warmup], act[:warmup]), -1))
    s, imagined = obs[warmup], []
    for _ in range(horizon):
        a, pi_state = policy(torch.cat((s, goal), -1)[None], pi_state)
        d, model_state = model(torch.cat((s, a[0]), -1)[None], model_state)
        s = s + d[0]
        imagined.append((s[:, ee_slice] - goal).norm(dim=-1))
    real = (obs[warmup + 1:warmup + horizon + 1, :, ee_slice] - goal).norm(dim=-1)
    return float(torch.stack(imagined).mean()), float(real.mean())


def pulse_actions(worlds: int, action_size: int, pulse: float) -> np.ndarray:
    """
    Return the actions of :func:`action_effect`'s probe step, one block per start.

    Each start gets 1 + 2A worlds: no pulse, then +pulse and -pulse on each joint in turn.

    :param worlds: number of starts.
    :param action_size: A.
    :param pulse: size of the probe action.
    :return: [worlds * (1 + 2A), A].
    """
    block = np.zeros((1 + 2 * action_size, action_size))
    for j in range(action_size):
        block[1 + 2 * j, j], block[2 + 2 * j, j] = pulse, -pulse
    return np.tile(block, (worlds, 1))


@torch.no_grad()
def action_effect(model, env, starts: np.ndarray, goals: np.ndarray, ee_slice: slice,
                  warmup: int = 5, steps: int = 10, pulse: float = 0.2) -> dict:
    r"""
    Compare what P and the simulator say one action does to the end effector.

    The policy learns from P's answer to "what if I acted differently": the gradient of
    the imagined end effector with respect to its actions. P can predict recorded episodes
    well (their actions follow from their states) and still get that answer wrong. From
    each start at rest, both run ``warmup`` steps of zero action, then a one-step pulse of
    :math:`\pm` ``pulse`` on one joint, then zero action; the end effector's displacement
    ``steps`` steps after the pulse, by central differences, gives the matrix
    :math:`J` [A, 3] of each start for the simulator and for P (P runs free after the
    warm-up, as in the policy's imagination).

    :param model: forward model (s, a) -> state change, sequence API.
    :param env: batched environment with ``len(starts) * (1 + 2 A)`` worlds and episodes of
        at least ``warmup + steps`` steps.
    :param starts: [N, nq] start configurations (the arm at rest).
    :param goals: [N, goal_size] goals (only observed, not pursued).
    :param ee_slice: end-effector position in the observation.
    :param warmup: zero-action steps before the pulse.
    :param steps: steps from the pulse to the measured displacement.
    :param pulse: size of the probe action.
    :return: {'action_cosine': median over starts of the cosine between P's and the
        simulator's J (flattened; 1 = P moves the hand the right way for every joint),
        'action_gain': median of ||J_P|| / ||J_sim|| (1 = the right size)}.
    """
    action_size = env.task_spec.action_size
    per_start = 1 + 2 * action_size
    probe = pulse_actions(len(starts), action_size, pulse)
    obs, _ = env.reset(starts=np.repeat(starts, per_start, axis=0),
                       goals=np.repeat(goals, per_start, axis=0))
    recorded = [obs]
    for t in range(warmup):
        obs, _ = env.step(np.zeros_like(probe))
        recorded.append(obs)
    for t in range(steps):
        obs, _ = env.step(probe if t == 0 else np.zeros_like(probe))
    real = obs[:, ee_slice]

    device = _device(model)
    obs = torch.as_tensor(np.stack(recorded), dtype=torch.float32, device=device)
    zeros = torch.zeros(warmup, len(probe), action_size, device=device)
    state = None
    if warmup:
        _, state = model(torch.cat((obs[:warmup], zeros), -1))
    s = obs[warmup]
    for t in range(steps):
        a = torch.as_tensor(probe if t == 0 else np.zeros_like(probe), dtype=torch.float32,
                            device=device)
        d, state = model(torch.cat((s, a), -1)[None], state)
        s = s + d[0].float()
    imagined = s[:, ee_slice].cpu().numpy()

    def jacobian(ee):
        ee = ee.reshape(len(starts), per_start, -1)
        return ((ee[:, 1::2] - ee[:, 2::2]) / (2 * pulse)).reshape(len(starts), -1)

    j_sim, j_model = jacobian(real), jacobian(imagined)
    norm_sim, norm_model = (np.linalg.norm(j, axis=-1) for j in (j_sim, j_model))
    cosine = (j_sim * j_model).sum(-1) / np.maximum(norm_sim * norm_model, 1e-12)
    return {'action_cosine': float(np.median(cosine)),
            'action_gain': float(np.median(norm_model / np.maximum(norm_sim, 1e-12)))}
