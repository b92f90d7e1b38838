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
magnitude and smoothness terms and optional penalties on imagined joint angles beyond
their soft limits and joint speeds above a margin of their limits.  Gradients flow
through P into pi.

Imitation (optional warm start, not part of the method): the policy regresses onto a
reference controller's actions at recorded states (DAgger), with the same optional
action magnitude and smoothness terms.

Activity regularisation (an ablation switch, off by default): each loss can add
:math:`\lambda_{rate} P_{rate} + \lambda_{mem} P_{mem}` of the network it trains (P
for the prediction loss, pi for the policy and imitation losses) over the whole window,
warm-up included; the terms are defined in
:class:`predctl_ros.snn.monitors.ActivityPenalty`.  Networks without spikes score 0.
"""

from typing import NamedTuple, Optional

from predctl_ros.learning.config import DISTANCE_LOSSES
from predctl_ros.snn.monitors import ActivityPenalty
import torch
from torch import Tensor


class ActivityReg(NamedTuple):
    """Weights and bounds of the activity regularisers (weights 0: off, no extra work)."""

    rate: float = 0.0
    """Weight of the firing-rate upper-bound penalty."""
    rate_max_hz: float = 100.0
    """Upper bound of each neuron's firing rate over the window, Hz."""
    membrane: float = 0.0
    """Weight of the membrane lower-bound penalty."""
    membrane_min: float = -1.0
    """Lower bound of the pre-reset membrane potential, in thresholds."""

    @classmethod
    def from_config(cls, cfg) -> 'ActivityReg':
        """
        Return the settings of a TrainConfig.

        :param cfg: object with rate_reg, rate_max_hz, membrane_reg and membrane_min.
        :return: ActivityReg.
        """
        return cls(cfg.rate_reg, cfg.rate_max_hz, cfg.membrane_reg, cfg.membrane_min)

    def collector(self, net) -> Optional[ActivityPenalty]:
        """
        Return a collector to pass as the monitor of net's forward passes, or None if off.

        :param net: the network being trained.
        :return: ActivityPenalty or None.
        """
        if not (self.rate > 0 or self.membrane > 0):
            return None
        return ActivityPenalty(net, self.rate_max_hz, self.membrane_min,
                               membranes=self.membrane > 0)

    def terms(self, collected: Optional[ActivityPenalty], like: Tensor) -> tuple:
        """
        Return the weighted penalty and its two raw terms.

        :param collected: the collector of the window, or None.
        :param like: a tensor of the loss's dtype and device.
        :return: (weighted sum, P_rate, P_mem), scalars.
        """
        zero = like.new_zeros(())
        if collected is None:
            return zero, zero, zero
        rate = collected.rate_penalty().to(like) if self.rate > 0 else zero
        membrane = collected.membrane_penalty().to(like) if self.membrane > 0 else zero
        return self.rate * rate + self.membrane * membrane, rate, membrane


def _run(net, x: Tensor, state, collected: Optional[ActivityPenalty]):
    # Called as before when off, so models without state or monitor arguments keep working.
    args = (x,) if state is None else (x, state)
    return net(*args) if collected is None else net(*args, monitor=collected)


def _excess(values: Tensor, bound: float) -> Tensor:
    # Sum over joints of the squared amount beyond +-bound, mean over the batch.
    return (torch.relu(values.abs() - bound) ** 2).sum(-1).mean()


def _action_terms(acts: Tensor) -> tuple:
    magnitude = (acts ** 2).mean()
    smoothness = ((acts[1:] - acts[:-1]) ** 2).mean() if acts.shape[0] > 1 else (
        acts.new_zeros(()))
    return magnitude, smoothness


class PolicyLoss(NamedTuple):
    """Total policy loss and its terms (all scalars)."""

    total: Tensor
    distance: Tensor
    magnitude: Tensor
    smoothness: Tensor
    speed: Optional[Tensor] = None
    """Imagined joint-speed penalty (0 when off)."""
    position: Optional[Tensor] = None
    """Imagined joint-angle penalty (0 when off)."""
    rate: Optional[Tensor] = None
    """P_rate of the policy (0 when off)."""
    membrane: Optional[Tensor] = None
    """P_mem of the policy (0 when off)."""


def prediction_loss(model, obs: Tensor, action: Tensor, warmup: int,
                    teacher_forcing: float = 1.0,
                    generator: Optional[torch.Generator] = None,
                    weight: Optional[Tensor] = None,
                    activity: Optional[ActivityReg] = None) -> Tensor:
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
    :param activity: activity regularisation of the model (None: off).
    :return: scalar mean squared error over the H unrolled steps, plus the weighted
        activity penalty.
    """
    if weight is None:
        weight = obs.new_ones(())
    steps = action.shape[0]
    if not 0 <= warmup < steps:
        raise ValueError(f'warm-up {warmup} must be in [0, {steps})')
    if not 0.0 <= teacher_forcing <= 1.0:
        raise ValueError(f'teacher forcing probability {teacher_forcing} not in [0, 1]')
    collected = None if activity is None else activity.collector(model)
    if teacher_forcing >= 1.0:
        delta, _ = _run(model, torch.cat((obs[:-1], action), -1), None, collected)
        loss = ((obs[:-1] + delta - obs[1:])[warmup:] ** 2 * weight).mean()
        return loss if collected is None else loss + activity.terms(collected, loss)[0]
    state = None
    if warmup:
        _, state = _run(model, torch.cat((obs[:warmup], action[:warmup]), -1), None,
                        collected)
    s, losses = obs[warmup], []
    for t in range(warmup, steps):
        delta, state = _run(model, torch.cat((s, action[t]), -1)[None], state, collected)
        pred = s + delta[0]
        losses.append(((pred - obs[t + 1]) ** 2 * weight).mean())
        keep_true = torch.rand(pred.shape[0], 1, generator=generator,
                               device=pred.device) < teacher_forcing
        s = torch.where(keep_true, obs[t + 1], pred)
    loss = torch.stack(losses).mean()
    return loss if collected is None else loss + activity.terms(collected, loss)[0]


def policy_loss(policy, model, obs: Tensor, action: Tensor, goal: Tensor, warmup: int,
                horizon: int, ee_slice: slice, magnitude_weight: float = 0.0,
                smoothness_weight: float = 0.0,
                activity: Optional[ActivityReg] = None, distance_loss: str = 'squared',
                distance_softening: float = 0.01, speed_weight: float = 0.0,
                speed_slice: Optional[slice] = None, speed_margin: float = 0.9,
                position_weight: float = 0.0,
                position_slice: Optional[slice] = None) -> PolicyLoss:
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
    :param activity: activity regularisation of the policy (None: off); P is not scored.
    :param distance_loss: 'squared' (d^2) or 'euclidean' (sqrt(d^2 + s^2) - s) of the
        imagined end effector's distance d to the goal.
    :param distance_softening: s of the 'euclidean' loss.
    :param speed_weight: weight of the speed penalty, mean over steps and samples of
        sum_j max(0, |s[speed_slice]_j| - speed_margin)^2 on the imagined states.
    :param speed_slice: where the joint speeds, as fractions of their limits, sit in the
        observation; needed when speed_weight > 0.
    :param speed_margin: fraction of the limits where the penalty starts.
    :param position_weight: weight of the joint-angle penalty, mean over steps and samples
        of sum_j max(0, |s[position_slice]_j| - 1)^2 on the imagined states.
    :param position_slice: where the joint angles, scaled so that +-1 are the soft limits,
        sit in the observation; needed when position_weight > 0.
    :return: PolicyLoss (its distance term in the chosen form).
    """
    if distance_loss not in DISTANCE_LOSSES:
        raise ValueError(f'distance_loss must be one of {DISTANCE_LOSSES}, got '
                         f'{distance_loss!r}')
    if speed_weight and speed_slice is None:
        raise ValueError('the speed penalty needs the speeds in the observation '
                         '(speed_slice)')
    if position_weight and position_slice is None:
        raise ValueError('the joint-angle penalty needs the scaled angles in the '
                         'observation (position_slice)')
    collected = None if activity is None else activity.collector(policy)
    pi_state = model_state = None
    if warmup:
        _, pi_state = _run(policy, torch.cat((obs[:warmup], goal[:warmup]), -1), None,
                           collected)
        _, model_state = model(torch.cat((obs[:warmup], action[:warmup]), -1))
    s, target = obs[warmup], goal[warmup]
    distances, actions, speeds, positions = [], [], [], []
    for _ in range(horizon):
        a, pi_state = _run(policy, torch.cat((s, target), -1)[None], pi_state, collected)
        delta, model_state = model(torch.cat((s, a[0]), -1)[None], model_state)
        s = s + delta[0]
        squared = ((s[:, ee_slice] - target) ** 2).sum(-1)
        if distance_loss == 'euclidean':
            distances.append(((squared + distance_softening ** 2).sqrt()
                              - distance_softening).mean())
        else:
            distances.append(squared.mean())
        if speed_weight:
            speeds.append(_excess(s[:, speed_slice], speed_margin))
        if position_weight:
            positions.append(_excess(s[:, position_slice], 1.0))
        actions.append(a[0])
    acts = torch.stack(actions)
    distance = torch.stack(distances).mean()
    magnitude, smoothness = _action_terms(acts)
    total = distance + magnitude_weight * magnitude + smoothness_weight * smoothness
    speed = torch.stack(speeds).mean() if speeds else distance.new_zeros(())
    position = torch.stack(positions).mean() if positions else distance.new_zeros(())
    total = total + speed_weight * speed + position_weight * position
    penalty, rate, membrane = (activity or ActivityReg()).terms(collected, total)
    if collected is not None:
        total = total + penalty
    return PolicyLoss(total, distance.detach(), magnitude.detach(), smoothness.detach(),
                      speed.detach(), position.detach(), rate.detach(), membrane.detach())


def imitation_loss(policy, obs: Tensor, goal: Tensor, label: Tensor, warmup: int,
                   magnitude_weight: float = 0.0, smoothness_weight: float = 0.0,
                   activity: Optional[ActivityReg] = None) -> Tensor:
    """
    Return the policy's regression loss onto a teacher's actions (DAgger warm start).

    The policy runs over the recorded window as one sequence; the first W steps only
    set its state.

    :param policy: network (s, g) -> action in [-1, 1].
    :param obs: recorded observations [T + 1 (or T), B, n_obs]; the last may be unused.
    :param goal: goals [T, B, n_goal].
    :param label: the teacher's actions at the recorded states [T, B, n_act].
    :param warmup: W, steps without loss.
    :param magnitude_weight: weight of the mean squared action over steps W .. T - 1.
    :param smoothness_weight: weight of the mean squared change of consecutive actions
        among steps W .. T - 1.
    :param activity: activity regularisation of the policy (None: off).
    :return: scalar mean squared error over steps W .. T - 1, plus the weighted terms.
    """
    steps = label.shape[0]
    if not 0 <= warmup < steps:
        raise ValueError(f'warm-up {warmup} must be in [0, {steps})')
    collected = None if activity is None else activity.collector(policy)
    action, _ = _run(policy, torch.cat((obs[:steps], goal), -1), None, collected)
    loss = ((action - label)[warmup:] ** 2).mean()
    # Terms that are off are not added at all, so the default loss is unchanged bit for bit.
    if magnitude_weight or smoothness_weight:
        magnitude, smoothness = _action_terms(action[warmup:])
        loss = loss + magnitude_weight * magnitude + smoothness_weight * smoothness
    return loss if collected is None else loss + activity.terms(collected, loss)[0]
