# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
r"""
The two training objectives of Pred-Control.

Prediction (forward model P): warm up W control steps on recorded states and
actions without loss, then unroll H steps predicting the next state as
:math:`\hat s_{t+1} = s_t + P(s_t, a_t)`; mean squared error.  With teacher
forcing probability p, each unrolled step is fed the true state with
probability p and the model's own prediction otherwise (p = 1, the authors'
setting, lets the whole window run as one sequence).

Policy (pi, trained through the frozen P): warm up both networks W steps on
recorded data, then imagine H steps, :math:`a = \pi(s, g)`, :math:`s \leftarrow
s + P(s, a)`; the loss is the squared distance of the predicted end effector
:math:`s[ee]` to the goal, averaged over the horizon, plus optional action
magnitude and smoothness terms.  Gradients flow through P into pi.

Imitation (optional warm start, not part of the method): the policy regresses onto a
reference controller's actions at recorded states (DAgger).
"""

from typing import NamedTuple, Optional

import torch
from torch import Tensor


class PolicyLoss(NamedTuple):
    """Total policy loss and its terms (all scalars)."""

    total: Tensor
    distance: Tensor
    magnitude: Tensor
    smoothness: Tensor


def prediction_loss(model, obs: Tensor, action: Tensor, warmup: int,
                    teacher_forcing: float = 1.0,
                    generator: Optional[torch.Generator] = None,
                    weight: Optional[Tensor] = None) -> Tensor:
    """
    Return the forward model's unroll loss on a batch of windows.

    :param model: network with forward(x [T, B, n_obs + n_act], state) -> (delta, state).
    :param obs: observations [W + H + 1, B, n_obs].
    :param action: actions [W + H, B, n_act].
    :param warmup: W, steps fed without loss.
    :param teacher_forcing: probability of feeding the true state during the unroll.
    :param generator: random generator for the teacher-forcing draws.
    :param weight: optional per-dimension weights [n_obs] of the squared error (e.g. the
        inverse variance of each state change, so that small quantities such as the
        end-effector position count as much as large ones); None = plain MSE.
    :return: scalar mean squared error over the H unrolled steps.
    """
    if weight is None:
        weight = obs.new_ones(())
    steps = action.shape[0]
    if not 0 <= warmup < steps:
        raise ValueError(f'warm-up {warmup} must be in [0, {steps})')
    if not 0.0 <= teacher_forcing <= 1.0:
        raise ValueError(f'teacher forcing probability {teacher_forcing} not in [0, 1]')
    if teacher_forcing >= 1.0:
        delta, _ = model(torch.cat((obs[:-1], action), -1))
        return ((obs[:-1] + delta - obs[1:])[warmup:] ** 2 * weight).mean()
    state = None
    if warmup:
        _, state = model(torch.cat((obs[:warmup], action[:warmup]), -1))
    s, losses = obs[warmup], []
    for t in range(warmup, steps):
        delta, state = model(torch.cat((s, action[t]), -1)[None], state)
        pred = s + delta[0]
        losses.append(((pred - obs[t + 1]) ** 2 * weight).mean())
        keep_true = torch.rand(pred.shape[0], 1, generator=generator,
                               device=pred.device) < teacher_forcing
        s = torch.where(keep_true, obs[t + 1], pred)
    return torch.stack(losses).mean()


def policy_loss(policy, model, obs: Tensor, action: Tensor, goal: Tensor, warmup: int,
                horizon: int, ee_slice: slice, magnitude_weight: float = 0.0,
                smoothness_weight: float = 0.0) -> PolicyLoss:
    """
    Return the policy's imagined-rollout loss through the forward model.

    :param policy: network (s, g) -> action in [-1, 1].
    :param model: forward model (s, a) -> state change; only pi should be stepped.
    :param obs: recorded observations [W + 1 (or more), B, n_obs].
    :param action: recorded actions [W (or more), B, n_act] for the warm-up.
    :param goal: goals [W + 1 (or more), B, n_goal]; the goal at step W is the target.
    :param warmup: W, recorded steps that set both networks' states.
    :param horizon: H, imagined steps.
    :param ee_slice: where the end-effector position sits in the observation.
    :param magnitude_weight: weight of the mean squared action.
    :param smoothness_weight: weight of the mean squared action change.
    :return: PolicyLoss.
    """
    pi_state = model_state = None
    if warmup:
        _, pi_state = policy(torch.cat((obs[:warmup], goal[:warmup]), -1))
        _, model_state = model(torch.cat((obs[:warmup], action[:warmup]), -1))
    s, target = obs[warmup], goal[warmup]
    distances, actions = [], []
    for _ in range(horizon):
        a, pi_state = policy(torch.cat((s, target), -1)[None], pi_state)
        delta, model_state = model(torch.cat((s, a[0]), -1)[None], model_state)
        s = s + delta[0]
        distances.append(((s[:, ee_slice] - target) ** 2).sum(-1).mean())
        actions.append(a[0])
    acts = torch.stack(actions)
    distance = torch.stack(distances).mean()
    magnitude = (acts ** 2).mean()
    smoothness = ((acts[1:] - acts[:-1]) ** 2).mean() if horizon > 1 else acts.new_zeros(())
    total = distance + magnitude_weight * magnitude + smoothness_weight * smoothness
    return PolicyLoss(total, distance.detach(), magnitude.detach(), smoothness.detach())


def imitation_loss(policy, obs: Tensor, goal: Tensor, label: Tensor, warmup: int) -> Tensor:
    """
    Return the policy's regression loss onto a teacher's actions (DAgger warm start).

    The policy runs over the recorded window as one sequence; the first W steps only
    set its state.

    :param policy: network (s, g) -> action in [-1, 1].
    :param obs: recorded observations [T + 1 (or T), B, n_obs]; the last may be unused.
    :param goal: goals [T, B, n_goal].
    :param label: the teacher's actions at the recorded states [T, B, n_act].
    :param warmup: W, steps without loss.
    :return: scalar mean squared error over steps W .. T - 1.
    """
    steps = label.shape[0]
    if not 0 <= warmup < steps:
        raise ValueError(f'warm-up {warmup} must be in [0, {steps})')
    action, _ = policy(torch.cat((obs[:steps], goal), -1))
    return ((action - label)[warmup:] ** 2).mean()
