# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Benchmark one training iteration of the method and break it down.

Workload: the authors' Panda iteration (``config/train_panda.yaml``): collect one 200-step
episode in each of 64 worlds with the current policy, then 25 minibatches of 256 windows
for the prediction network P (warm-up 5 + unroll 40, teacher forcing) and 25 for the
policy pi through the frozen P (warm-up 5 + 40 imagined steps). Every part is timed
separately (forward, backward, optimiser step); ``--batches`` minibatches of each kind
are timed and the per-iteration cost is that mean times 25, so a full iteration need not
run. The best of ``--repeats`` collections is taken (other processes only add time).
Each training precision (``--precisions``, the config's ``precision`` setting) is measured
with fresh networks of the same seed and reported side by side.

Usage::

    python bench/bench_train.py                      # Panda, both cores
    python bench/bench_train.py --quick              # smaller smoke run
    python bench/bench_train.py --write docs/benchmarks.md
"""

import argparse
import dataclasses
import datetime
import os
from pathlib import Path
import shlex
import sys
import time

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from predctl_ros import envs  # noqa: E402
from predctl_ros.allocator import keep_freed_memory  # noqa: E402
from predctl_ros.learning.config import load_config  # noqa: E402
from predctl_ros.learning.objectives import policy_loss, prediction_loss  # noqa: E402
from predctl_ros.learning.replay import ReplayBuffer  # noqa: E402
from predctl_ros.learning.train import (  # noqa: E402
    build_networks, make_optimizer, precision_context, rollout, set_input_normalisation,
    set_threads)
import torch  # noqa: E402

try:
    from bench.report import cpu_model, write_section  # noqa: E402
except ImportError:  # run as a script: bench/ is sys.path[0]
    from report import cpu_model, write_section  # noqa: E402


def timed(fn):
    """Return (result, seconds) of fn()."""
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def time_batches(n, sample, loss_of, net, optimizer, clip):
    """
    Time n minibatches: forward (loss), backward, clip + optimiser step.

    :return: dict of mean seconds per minibatch for 'forward', 'backward', 'step'.
    """
    parts = {'forward': [], 'backward': [], 'step': []}
    for i in range(n + 1):   # the first one warms up (JIT compilation, allocations)
        batch = sample()
        loss, t_forward = timed(lambda: loss_of(batch))
        optimizer.zero_grad(set_to_none=True)
        _, t_backward = timed(loss.backward)

        def step():
            torch.nn.utils.clip_grad_norm_(net.parameters(), clip)
            optimizer.step()
        _, t_step = timed(step)
        for key, value in zip(parts, (t_forward, t_backward, t_step)):
            if i:
                parts[key].append(value)
    return {k: float(np.mean(v)) for k, v in parts.items()}


def measure(cfg, batches: int, repeats: int) -> dict:
    """Run the parts of one iteration and return their costs (s per iteration)."""
    spec = envs.task_spec(cfg.task, **cfg.task_options)
    env = envs.make_batched_env(cfg.task, cfg.envs, episode_steps=cfg.episode_steps,
                                num_threads=cfg.threads or None, **cfg.task_options)
    model, policy = build_networks(cfg, spec)
    model_opt, policy_opt = make_optimizer(model, cfg), make_optimizer(policy, cfg)
    rng = np.random.default_rng(cfg.seed)
    collect = []
    for r in range(repeats + 1):   # the first one warms up
        data, seconds = timed(lambda: rollout(policy, env, seed=r, noise=0.1, rng=rng))
        collect.append(seconds if r else np.inf)
    env.close()
    set_input_normalisation(model, policy, data)
    replay = ReplayBuffer(spec.obs_size, spec.action_size, spec.goal_size,
                          cfg.envs * (cfg.episode_steps + 1))
    replay.add_batch(data['obs'], data['action'], data['goal'])
    window = cfg.warmup + cfg.horizon

    def windows(length):
        return lambda: replay.sample(cfg.batch, length, rng)

    precision = precision_context(cfg, 'cpu')   # as predctl train does

    def p_loss(w):
        with precision:
            return prediction_loss(model, torch.from_numpy(w.obs),
                                   torch.from_numpy(w.action), cfg.warmup,
                                   cfg.teacher_forcing)

    def pi_loss(w):
        goal = torch.from_numpy(np.concatenate((w.goal, w.goal[-1:])))
        with precision:
            return policy_loss(policy, model, torch.from_numpy(w.obs),
                               torch.from_numpy(w.action), goal, cfg.warmup, cfg.horizon,
                               spec.ee_slice).total

    model_parts = time_batches(batches, windows(window), p_loss, model, model_opt,
                               cfg.grad_clip)
    model.requires_grad_(False)
    policy_parts = time_batches(batches, windows(cfg.warmup + 1), pi_loss, policy,
                                policy_opt, cfg.grad_clip)
    costs = {f'collect ({cfg.envs} worlds x {cfg.episode_steps} steps, policy + MuJoCo)':
             min(collect)}
    for name, parts, count in (('P', model_parts, cfg.model_batches),
                               ('pi through P', policy_parts, cfg.policy_batches)):
        for part, seconds in parts.items():
            costs[f'{name}: {part} (x{count})'] = seconds * count
    return costs


def main(argv=None):
    """Measure, print (or write) the markdown section."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--config', default=str(REPO_ROOT / 'config' / 'train_panda.yaml'))
    parser.add_argument('--set', action='append', default=[], metavar='KEY=VALUE',
                        help='training config override (repeatable)')
    parser.add_argument('--threads', type=int, default=os.cpu_count() or 1)
    parser.add_argument('--batches', type=int, default=3,
                        help='minibatches of each kind timed')
    parser.add_argument('--repeats', type=int, default=2, help='collections timed')
    parser.add_argument('--precisions', default='float32,bfloat16',
                        help='training precisions measured, comma-separated')
    parser.add_argument('--quick', action='store_true',
                        help='envs 8, batch 32, 1 minibatch of each kind')
    parser.add_argument('--write', metavar='FILE')
    args = parser.parse_args(argv)
    overrides = [f'threads={args.threads}', *args.set]
    if args.quick:
        overrides += ['envs=8', 'batch=32']
        args.batches, args.repeats = 1, 1
    cfg = load_config(args.config, overrides)
    precisions = args.precisions.split(',')
    set_threads(cfg.threads)
    keep_freed_memory()   # as predctl train does
    costs = {}
    for precision in precisions:
        torch.manual_seed(cfg.seed)
        costs[precision] = measure(dataclasses.replace(cfg, precision=precision),
                                   args.batches, args.repeats)
    totals = {p: sum(c.values()) for p, c in costs.items()}
    cmd = 'python bench/bench_train.py ' + ' '.join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    lines = [
        '## Training iteration breakdown',
        '',
        f'`{cmd.strip()}` on {cpu_model()}, {cfg.threads} threads, '
        f'{datetime.date.today().isoformat()}. Task {cfg.task}: {cfg.envs} worlds, batch '
        f'{cfg.batch}, warm-up {cfg.warmup} + horizon {cfg.horizon}, networks as configured '
        f'(P {cfg.model}, pi {cfg.policy}); '
        f"{args.batches} minibatches of each kind timed, scaled to the iteration's count.",
        '',
        '| part | ' + ' | '.join(f'{p}: s per iteration | share' for p in precisions) + ' |',
        '|---|' + '---:|---:|' * len(precisions),
    ]
    for name in costs[precisions[0]]:
        lines.append(f'| {name} | ' + ' | '.join(
            f'{costs[p][name]:.1f} | {costs[p][name] / totals[p]:.0%}' for p in precisions)
            + ' |')
    cells = [cell for p in precisions for cell in (f'**{totals[p]:.1f}**', '')]
    lines.append('| **iteration** | ' + ' | '.join(cells) + ' |')
    body = '\n'.join(lines)
    print(body)
    if args.write:
        write_section(args.write, 'bench_train', body)
    return 0


if __name__ == '__main__':
    sys.exit(main())
