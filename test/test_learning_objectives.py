# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Prediction and policy objectives: equivalent paths, gradients, and learning."""

from predctl_ros.learning.objectives import policy_loss, prediction_loss
from predctl_ros.snn import PolicyNet, PredictionNet
import pytest
import torch

F64 = torch.float64


class Integrator(torch.nn.Module):
    """Known forward model: the state (a 2-D position) moves by 0.3 * action."""

    def forward(self, x, state=None):
        return 0.3 * x[..., 2:], state


def test_teacher_forcing_one_equals_stepwise_unroll():
    model = PredictionNet(3, 2, hidden=(24, 24), neuron='alif').double()
    obs = torch.randn(13, 4, 3, dtype=F64)
    action = torch.randn(12, 4, 2, dtype=F64)
    whole = prediction_loss(model, obs, action, warmup=5)
    stepwise = prediction_loss(model, obs, action, warmup=5, teacher_forcing=1 - 1e-12)
    torch.testing.assert_close(whole, stepwise)
    free = prediction_loss(model, obs, action, warmup=5, teacher_forcing=0.0)
    assert free.item() != pytest.approx(whole.item())
    with pytest.raises(ValueError, match='warm-up'):
        prediction_loss(model, obs, action, warmup=12)


@pytest.mark.parametrize('bfloat16', [False, True])
def test_prediction_loss_trains_the_forward_model(bfloat16):
    # Also under autocast, as `predctl train` runs with precision=bfloat16.
    torch.manual_seed(0)
    model = PredictionNet(2, 1, hidden=(64, 64), rank=16)
    optim = torch.optim.Adam(model.parameters(), lr=1e-2)
    action = torch.rand(20, 32, 1) * 3 - 1.5
    obs = torch.cat((torch.zeros(1, 32, 2), torch.cumsum(
        torch.cat((0.5 * action, -0.2 * action), -1), 0)))
    losses = []
    for _ in range(80):
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bfloat16):
            loss = prediction_loss(model, obs, action, warmup=5)
        optim.zero_grad()
        loss.backward()
        optim.step()
        losses.append(loss.item())
    # The mean of the last ten: at this learning rate single iterations bump up and down.
    assert sum(losses[-10:]) / 10 < 0.35 * losses[0]


@pytest.mark.parametrize('bfloat16', [False, True])
def test_policy_learns_to_reach_through_the_model(bfloat16):
    torch.manual_seed(0)
    policy = PolicyNet(2, 2, 2, hidden=(64, 64), rank=16)
    model = Integrator()
    optim = torch.optim.Adam(policy.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        # Inputs of about unit variance, the range the fluctuation-driven init assumes.
        start = 3 * (torch.rand(6, 32, 2) - 0.5)
        goal = (3 * (torch.rand(1, 32, 2) - 0.5)).expand(6, 32, 2)
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bfloat16):
            out = policy_loss(policy, model, start, torch.zeros(5, 32, 2), goal, warmup=5,
                              horizon=15, ee_slice=slice(0, 2), magnitude_weight=1e-3)
        optim.zero_grad()
        out.total.backward()
        optim.step()
        losses.append(out.distance.item())
    assert sum(losses[-5:]) < 0.5 * sum(losses[:5])


def test_policy_gradient_flows_through_the_spiking_model():
    policy = PolicyNet(3, 2, 2, hidden=(16, 16))
    model = PredictionNet(3, 2, hidden=(16, 16))
    obs, goal = torch.randn(6, 8, 3), torch.randn(6, 8, 2)
    out = policy_loss(policy, model, obs, torch.randn(5, 8, 2), goal, warmup=5, horizon=4,
                      ee_slice=slice(0, 2), smoothness_weight=0.1)
    out.total.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in policy.parameters())
    assert out.smoothness.item() > 0


class ConstantPolicy(torch.nn.Module):
    """Always the same action; its value is the one parameter."""

    def __init__(self, action):
        super().__init__()
        self.action = torch.nn.Parameter(torch.as_tensor(action, dtype=F64))

    def forward(self, x, state=None):
        return self.action.expand(*x.shape[:-1], 2), state


def test_euclidean_distance_loss_is_exact_and_weighs_near_goals_like_far_ones():
    """
    Score one imagined step under a known model.

    Both forms match their formulas, and only the Euclidean one gives a goal 2 cm away
    about as much gradient as one 40 cm away.
    """
    start = torch.zeros(1, 2, 2, dtype=F64)
    goal = torch.tensor([[0.02, 0.0], [0.4, 0.0]], dtype=F64).expand(2, 2, 2)
    grads = {}
    for form in ('squared', 'euclidean'):
        norms = []
        for world in range(2):
            policy = ConstantPolicy([0.0, 0.0])
            out = policy_loss(policy, Integrator(), start[:, world:world + 1],
                              torch.zeros(0, 1, 2, dtype=F64), goal[:, world:world + 1],
                              warmup=0, horizon=1, ee_slice=slice(0, 2), distance_loss=form,
                              distance_softening=0.01)
            d = float(goal[0, world, 0])
            expected = d ** 2 if form == 'squared' else (d ** 2 + 1e-4) ** 0.5 - 0.01
            assert out.distance.item() == pytest.approx(expected, rel=1e-12)
            out.total.backward()
            norms.append(policy.action.grad.norm().item())
        grads[form] = norms[0] / norms[1]
    assert grads['squared'] == pytest.approx(0.02 / 0.4, rel=1e-9)
    assert grads['euclidean'] > 0.85
    with pytest.raises(ValueError, match='distance_loss'):
        policy_loss(ConstantPolicy([0.0, 0.0]), Integrator(), start, start[:0], goal, 0, 1,
                    slice(0, 2), distance_loss='l1')


class SpeedModel(torch.nn.Module):
    """Known forward model of [x, y, speed 1, speed 2]: the speeds become the action."""

    def forward(self, x, state=None):
        s, a = x[..., :4], x[..., 4:]
        return torch.cat((0.3 * a, a - s[..., 2:]), -1), state


def test_speed_penalty_is_exact_and_only_pushes_speeds_above_the_margin():
    """Speeds (0.95, -0.5) of their limits with margin 0.9: (0.95 - 0.9)^2 per step."""
    start = torch.zeros(1, 1, 4, dtype=F64)
    goal = torch.zeros(1, 1, 2, dtype=F64)
    policy = ConstantPolicy([0.95, -0.5])
    out = policy_loss(policy, SpeedModel(), start, start[:0, :, :2], goal, warmup=0,
                      horizon=3, ee_slice=slice(0, 2), speed_weight=2.0,
                      speed_slice=slice(2, 4), speed_margin=0.9)
    assert out.speed.item() == pytest.approx(0.05 ** 2, rel=1e-9)
    assert out.total.item() == pytest.approx(out.distance.item() + 2.0 * 0.05 ** 2, rel=1e-9)
    # Alone, the penalty's gradient on the action is 2 * 2 * 0.05 on joint 1, 0 on joint 2.
    speed_only = policy_loss(ConstantPolicy([0.95, -0.5]), SpeedModel(), start,
                             start[:0, :, :2], goal, warmup=0, horizon=3,
                             ee_slice=slice(0, 2), speed_slice=slice(2, 4))
    assert speed_only.speed.item() == 0.0
    policy.action.grad = None
    (out.total - out.distance.item()).backward()
    policy_distance = ConstantPolicy([0.95, -0.5])
    policy_loss(policy_distance, SpeedModel(), start, start[:0, :, :2], goal, warmup=0,
                horizon=3, ee_slice=slice(0, 2)).total.backward()
    from_speed = policy.action.grad - policy_distance.action.grad
    torch.testing.assert_close(from_speed, torch.tensor([2 * 2 * 0.05, 0.0], dtype=F64))
    with pytest.raises(ValueError, match='speed_slice'):
        policy_loss(policy, SpeedModel(), start, start[:0, :, :2], goal, 0, 1, slice(0, 2),
                    speed_weight=1.0)


def test_joint_angle_penalty_counts_only_what_lies_beyond_the_soft_limits():
    """Scaled angles (1.2, -0.5): (1.2 - 1)^2 per step, whatever the speed penalty does."""
    start = torch.tensor([[[0.0, 0.0, 1.2, -0.5]]], dtype=F64)
    goal = torch.zeros(1, 1, 2, dtype=F64)
    out = policy_loss(ConstantPolicy([0.0, 0.0]), Integrator(), start, start[:0, :, :2],
                      goal, warmup=0, horizon=2, ee_slice=slice(0, 2), position_weight=3.0,
                      position_slice=slice(2, 4))
    assert out.position.item() == pytest.approx(0.2 ** 2, rel=1e-9)
    assert out.total.item() == pytest.approx(out.distance.item() + 3.0 * 0.2 ** 2, rel=1e-9)
    with pytest.raises(ValueError, match='position_slice'):
        policy_loss(ConstantPolicy([0.0, 0.0]), Integrator(), start, start[:0, :, :2], goal,
                    0, 1, slice(0, 2), position_weight=1.0)
