# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
`predctl demo`: train a spiking forward model and run it in a control loop.

Until the ROS stack ships, the demo exercises the spiking core end to end on a
torque-driven pendulum whose velocity is hidden: the recurrent spiking
prediction network must infer it from the angle history, as the method's
prediction network does for the arm.  It reports the one-step and imagined
multi-step prediction error against the "nothing changes" baseline, the latency
of the event-driven control stepper, and the simulated Panda under the
classical reference controller (the ceiling a learned policy aims for).
"""

import math
import time

import numpy as np

HELP = 'train a spiking forward model on a hidden-velocity pendulum and time the control step'

DT_S = 0.02            # control period (the networks' 7 x 2 ms sub-steps = 14 ms of SNN time)
TORQUE_NM = 2.0
GRAVITY, LENGTH_M, MASS_KG, DAMPING = 9.81, 0.5, 1.0, 0.1


def add_arguments(parser):
    """
    Declare the arguments of `predctl demo`.

    :param parser: the subcommand's parser.
    """
    parser.add_argument('--iterations', type=int, default=400, help='training minibatches')
    parser.add_argument('--hidden', type=int, default=128, help='neurons per layer')
    parser.add_argument('--seed', type=int, default=0)


def simulate_pendulum(actions: np.ndarray, theta0: np.ndarray, omega0: np.ndarray):
    """
    Integrate torque-driven damped pendulums (semi-implicit Euler, 10 substeps).

    :param actions: normalised torques in [-1, 1], [T, B].
    :param theta0: initial angles [B].
    :param omega0: initial angular velocities [B].
    :return: observations [T + 1, B, 2] = (sin, cos) of the angle.
    """
    theta, omega = theta0.copy(), omega0.copy()
    obs = [np.stack((np.sin(theta), np.cos(theta)), -1)]
    h = DT_S / 10
    inertia = MASS_KG * LENGTH_M ** 2
    for a in actions:
        for _ in range(10):
            alpha = (TORQUE_NM * a - MASS_KG * GRAVITY * LENGTH_M * np.sin(theta)
                     - DAMPING * omega) / inertia
            omega = omega + h * alpha
            theta = theta + h * omega
        obs.append(np.stack((np.sin(theta), np.cos(theta)), -1))
    return np.stack(obs)


def make_data(rng, episodes: int, steps: int):
    """
    Roll out pendulums under smooth random torques.

    :param rng: numpy Generator.
    :param episodes: number of episodes.
    :param steps: control steps per episode.
    :return: observations [steps + 1, E, 2] and actions [steps, E, 1] as float32.
    """
    noise = rng.normal(size=(steps, episodes))
    actions = np.zeros((steps, episodes))
    for t in range(1, steps):   # Ornstein-Uhlenbeck: smooth, exploring torques
        actions[t] = 0.85 * actions[t - 1] + 0.5 * noise[t]
    actions = np.clip(actions, -1.0, 1.0)
    obs = simulate_pendulum(actions, rng.uniform(-math.pi, math.pi, episodes),
                            rng.normal(0.0, 1.0, episodes))
    return obs.astype(np.float32), actions[..., None].astype(np.float32)


def rollout_error(net, obs, actions, warmup: int, horizon: int, imagine: bool):
    """
    Return the mean squared state error of predictions after a warm-up.

    :param net: prediction network.
    :param obs: observations [T + 1, B, 2] (torch).
    :param actions: actions [T, B, 1] (torch).
    :param warmup: control steps fed with true states before scoring.
    :param horizon: scored control steps.
    :param imagine: feed the network its own predictions instead of true states.
    :return: mean squared error over the horizon.
    """
    import torch
    with torch.no_grad():
        _, state = net(torch.cat((obs[:warmup], actions[:warmup]), -1))
        s, errors = obs[warmup], []
        for t in range(warmup, warmup + horizon):
            delta, state = net(torch.cat((s, actions[t]), -1)[None], state)
            pred = s + delta[0]
            errors.append(((pred - obs[t + 1]) ** 2).mean().item())
            s = pred if imagine else obs[t + 1]
    return float(np.mean(errors))


def run(args) -> int:
    """
    Train, evaluate and time; print a short report.

    :param args: parsed arguments.
    :return: 0 when the trained model beats the baseline, 1 otherwise.
    """
    import torch
    from predctl_ros.snn import PolicyNet, PredictionNet
    from predctl_ros.snn.monitors import ActivityMonitor

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    warmup, horizon, batch = 5, 20, 64
    train_obs, train_act = make_data(rng, 512, 200)
    test_obs, test_act = (torch.from_numpy(a) for a in make_data(rng, 128, 60))
    net = PredictionNet(2, 1, hidden=(args.hidden, args.hidden), neuron='alif', rank=32)
    taus = [p for n, p in net.named_parameters() if 'log_tau' in n]
    weights = [p for n, p in net.named_parameters() if 'log_tau' not in n]
    optim = torch.optim.Adam([{'params': weights, 'lr': 1e-3}, {'params': taus, 'lr': 1e-2}])
    params = sum(p.numel() for p in net.parameters())
    print(f'Spiking prediction network: 3 -> {args.hidden} recurrent ALIF -> {args.hidden} '
          f'ALIF -> 2, rank 32, {params} parameters; {net.spec.substeps} x '
          f'{net.spec.dt_s * 1e3:g} ms SNN steps per control step')
    start = time.perf_counter()
    for it in range(1, args.iterations + 1):
        ep = rng.integers(0, train_obs.shape[1], batch)
        t0 = rng.integers(0, train_obs.shape[0] - warmup - horizon - 1)
        window = slice(t0, t0 + warmup + horizon)
        s = torch.from_numpy(train_obs[window, ep])
        a = torch.from_numpy(train_act[window, ep])
        target = torch.from_numpy(train_obs[t0 + 1:t0 + warmup + horizon + 1, ep]) - s
        delta, _ = net(torch.cat((s, a), -1))     # teacher forcing: true state every step
        loss = ((delta[warmup:] - target[warmup:]) ** 2).mean()
        optim.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 30.0)
        optim.step()
        if it % max(1, args.iterations // 8) == 0 or it == 1:
            print(f'  iteration {it:4d}  loss {loss.item():.2e}  '
                  f'({time.perf_counter() - start:5.1f} s)', flush=True)
    train_s = time.perf_counter() - start

    future = test_obs[warmup + 1:warmup + horizon + 1]
    baseline = ((future - test_obs[warmup:warmup + horizon]) ** 2).mean().item()
    held = ((future - test_obs[warmup]) ** 2).mean().item()  # no model: hold the last state
    one_step = rollout_error(net, test_obs, test_act, warmup, horizon, imagine=False)
    imagined = rollout_error(net, test_obs, test_act, warmup, horizon, imagine=True)
    monitor = ActivityMonitor(net)
    with torch.no_grad():
        net(torch.cat((test_obs[:-1], test_act), -1), monitor=monitor)
    activity = monitor.summary()
    print(f'Trained in {train_s:.1f} s. Held-out prediction error (MSE of sin/cos):')
    print(f'  "nothing changes" baseline   {baseline:.2e}')
    print(f'  one step ahead (true state)  {one_step:.2e}  ({baseline / one_step:.0f}x better)')
    print(f'  imagined {horizon} steps           {imagined:.2e}  (holding the last state: '
          f'{held:.2e})')
    print(f'  firing rates {", ".join(f"{r:.0f} Hz" for r in activity["rate_hz"])}; '
          f'{activity["synops_total_per_step"]:.0f} SynOps per control step')

    policy = PolicyNet(9, 3, 6, neuron='alif')
    stepper = policy.stepper()
    x = np.random.default_rng(0).normal(size=12)
    times = []
    for _ in range(1100):
        t = time.perf_counter()
        stepper.step(x)
        times.append(time.perf_counter() - t)
    print(f'Control step of the Panda policy (12 -> 512 ALIF -> 512 ALIF -> 6, batch 1): '
          f'median {np.median(times[100:]) * 1e3:.3f} ms, '
          f'{stepper.synops} SynOps in the last step')
    from predctl_ros import envs
    _, summary, _ = envs.evaluate_reference('panda_reach')
    print(f'Simulated Panda (MuJoCo, urdf/panda.urdf), reference controller on the 64 test '
          f'pairs: median final distance {summary["median_final_distance"] * 100:.2f} cm, '
          f'{summary["success_rate"]:.0%} within 5 cm')
    return 0 if one_step < baseline else 1
