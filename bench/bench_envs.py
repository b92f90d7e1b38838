# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Benchmark the reaching environments against bare MuJoCo stepping of the same model.

Workload: one data-collection iteration of the method, ``--envs`` worlds (64) x
``--steps`` control steps (200) of 20 ms = 10 physics steps of 2 ms, random actions in
[-1, 1] (seeded), from the start states of ``reset(seed=0)``. Every variant runs the same
controls from the same states in the same process:

* ``bare mj_step``: a Python loop setting ``ctrl`` and calling ``mj_step(m, d, nstep=10)``
  per world and control step, no observation, no checks;
* ``bare rollout``: ``mujoco.rollout`` (C loop, no Python per step) with 1 and 2 threads:
  the floor for stepping this model;
* ``bare batch``: ``mujoco.batch.Batch.step`` per control step (what the batched
  environment calls), controls written, nothing read;
* ``ReachEnv``: the gymnasium environment, one world after another;
* ``BatchedReachEnv``: the batched environment with 1 and 2 threads (observations,
  distances, action checks and divergence detection included).

Each variant is timed ``--repeats`` times; the best (shortest) run is reported, since
other processes on a shared machine only ever add time. ``vs floor`` is the wall time
per simulated second divided by that of the 2-thread bare rollout.

Usage::

    python bench/bench_envs.py                       # both tasks, prints a markdown table
    python bench/bench_envs.py --quick               # smoke run, a few seconds
    python bench/bench_envs.py --write docs/benchmarks.md
"""

import argparse
import datetime
import os
import platform
import shlex
import sys
import time

import mujoco
from mujoco import batch as mj_batch
from mujoco import rollout as mj_rollout
import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from predctl_ros import envs  # noqa: E402

try:
    from bench.report import cpu_model, cpu_ticks, write_section  # noqa: E402
except ImportError:  # run as a script: bench/ is sys.path[0]
    from report import cpu_model, cpu_ticks, write_section  # noqa: E402

STATE_SPEC = mujoco.mjtState.mjSTATE_FULLPHYSICS
BATCH_SPEC = mujoco.mjtState.mjSTATE_INTEGRATION


def _best_time(function, repeats):
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def bench_task(task_id, num_envs, steps, repeats, seed=0):
    """
    Time every variant on one task.

    :param task_id: task name.
    :param num_envs: worlds.
    :param steps: control steps per world.
    :param repeats: timed runs per variant (the best is kept).
    :param seed: seed of the start states and the actions.
    :return: list of result dicts (name, threads, seconds, physics_steps).
    """
    batched = {n: envs.make_batched_env(task_id, num_envs, num_threads=n) for n in (1, 2)}
    spec = batched[1].task_spec
    task = batched[1].task
    model = task.model
    n_sub = spec.substeps
    actions = np.random.default_rng(seed).uniform(-1, 1, (steps, num_envs, spec.action_size))
    batched[1].reset(seed=seed)
    size = mujoco.mj_stateSize(model, STATE_SPEC)
    initial = np.zeros((num_envs, size))
    for i, data in enumerate(batched[1].datas):
        mujoco.mj_getState(model, data, initial[i], STATE_SPEC)
    hold = batched[1].datas[0].ctrl[spec.action_size:].copy()
    ctrl = np.empty((steps, num_envs, model.nu))
    ctrl[:, :, :spec.action_size] = actions * task.effort
    ctrl[:, :, spec.action_size:] = hold
    datas = [mujoco.MjData(model) for _ in range(num_envs)]

    def bare_loop():
        for data, state in zip(datas, initial):
            mujoco.mj_setState(model, data, state, STATE_SPEC)
        for k in range(steps):
            for i, data in enumerate(datas):
                data.ctrl[:] = ctrl[k, i]
                mujoco.mj_step(model, data, nstep=n_sub)

    rollout_ctrl = np.repeat(ctrl.transpose(1, 0, 2), n_sub, axis=1).copy()
    rows = []
    physics_steps = num_envs * steps * n_sub
    rows.append({'name': 'bare mj_step loop', 'threads': 1,
                 'seconds': _best_time(bare_loop, repeats), 'physics_steps': physics_steps})
    for threads in (1, 2):
        with mj_rollout.Rollout(nthread=threads) as runner:
            scratch = [mujoco.MjData(model) for _ in range(max(threads, 1))]

            def bare_rollout():
                runner.rollout(model, scratch, initial, rollout_ctrl)

            rows.append({'name': 'bare mujoco.rollout', 'threads': threads,
                         'seconds': _best_time(bare_rollout, repeats),
                         'physics_steps': physics_steps})
    loader = mujoco.MjData(model)
    for threads in (1, 2):
        sims = mj_batch.Batch(model, num_envs, nthread=threads)
        sim_ctrl = sims.bind('ctrl')

        def bare_batch():
            for i, state in enumerate(initial):
                mujoco.mj_setState(model, loader, state, STATE_SPEC)
                mujoco.mj_getState(model, loader, sims.state[i], BATCH_SPEC)
            for k in range(steps):
                sim_ctrl[:] = ctrl[k]
                sims.step(nstep=n_sub)

        rows.append({'name': 'bare mujoco.batch', 'threads': threads,
                     'seconds': _best_time(bare_batch, repeats),
                     'physics_steps': physics_steps})
    single = envs.make_env(task_id)

    def single_env():
        for i in range(num_envs):
            single.reset(seed=seed + i)
            for k in range(steps):
                single.step(actions[k, i])

    rows.append({'name': 'ReachEnv (gymnasium)', 'threads': 1,
                 'seconds': _best_time(single_env, repeats), 'physics_steps': physics_steps})
    for threads in (1, 2):
        env = batched[threads]

        def batched_env():
            env.reset(seed=seed)
            for k in range(steps):
                env.step(actions[k])

        rows.append({'name': 'BatchedReachEnv', 'threads': threads,
                     'seconds': _best_time(batched_env, repeats),
                     'physics_steps': physics_steps})
        env.close()
    for row in rows:
        row.update(task=task_id, envs=num_envs, steps=steps, control_dt_s=spec.control_dt_s,
                   n_sub=n_sub)
    return rows


def markdown_table(rows):
    """
    Format the results.

    :param rows: result dicts of :func:`bench_task`.
    :return: markdown table text.
    """
    lines = ['| task | variant | threads | control steps/s | physics steps/s | '
             'simulated s / wall s | vs floor |',
             '|---|---|---:|---:|---:|---:|---:|']
    for task_id in dict.fromkeys(row['task'] for row in rows):
        group = [row for row in rows if row['task'] == task_id]
        floor = next(row['seconds'] for row in group
                     if row['name'] == 'bare mujoco.rollout' and row['threads'] == 2)
        for row in group:
            control_steps = row['envs'] * row['steps']
            simulated = control_steps * row['control_dt_s']
            lines.append(
                f'| {task_id} | {row["name"]} | {row["threads"]} | '
                f'{control_steps / row["seconds"]:,.0f} | '
                f'{row["physics_steps"] / row["seconds"]:,.0f} | '
                f'{simulated / row["seconds"]:,.1f} | {row["seconds"] / floor:.2f} |')
    return '\n'.join(lines)


def report(rows, args, command, load, steal):
    """
    Build the markdown section.

    :param rows: result dicts.
    :param args: parsed arguments.
    :param command: the command line that produced it.
    :param load: 1-minute load average before the run, or None.
    :param steal: fraction of CPU time stolen by the hypervisor during the run, or None.
    :return: markdown text without the markers.
    """
    now = datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')
    lines = [
        '## Environment benchmark (bench/bench_envs.py)',
        '',
        f'- Command: `{command}`',
        f'- Date: {now}',
        f'- CPU: {cpu_model()}',
        f'- mujoco {mujoco.__version__}, numpy {np.__version__}, Python '
        f'{platform.python_version()}',
        f'- Workload: {args.envs} worlds x {args.steps} control steps of 20 ms '
        '(10 physics steps of 2 ms each), random actions; best of '
        f'{args.repeats} runs per variant',
        '- vs floor: wall time per simulated second over that of `mujoco.rollout` with 2 '
        'threads on the same model, controls and start states (goal for BatchedReachEnv '
        'with 2 threads: <= 1.3)',
    ]
    if load is not None:
        lines.append(f'- Load average before the run: {load:.2f}'
                     + (f'; CPU steal during the run: {100 * steal:.1f} %'
                        if steal is not None else ''))
    if args.quick:
        lines.append('- **--quick smoke run: tiny workload, not comparable**')
    lines += ['', markdown_table(rows)]
    return '\n'.join(lines)


def parse_args(argv):
    """
    Parse the command line.

    :param argv: arguments without the program name.
    :return: argparse namespace.
    """
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--tasks', nargs='+', choices=envs.TASK_IDS, default=list(envs.TASK_IDS))
    parser.add_argument('--envs', type=int, default=64, help='worlds')
    parser.add_argument('--steps', type=int, default=200, help='control steps per world')
    parser.add_argument('--repeats', type=int, default=3, help='timed runs per variant')
    parser.add_argument('--quick', action='store_true', help='smoke run: 8 worlds x 20 steps')
    parser.add_argument('--write', metavar='FILE',
                        help='replace the bench_envs section of this markdown file')
    args = parser.parse_args(argv)
    if args.quick:
        args.envs, args.steps, args.repeats = 8, 20, 1
    if args.envs < 2 or args.steps < 1 or args.repeats < 1:
        parser.error('--envs must be >= 2, --steps and --repeats >= 1')
    return args


def main(argv=None):
    """
    Run the benchmark and print (and optionally write) the markdown section.

    :param argv: arguments without the program name (default sys.argv[1:]).
    :return: exit status 0.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    command = shlex.join(['python', 'bench/bench_envs.py'] + argv)
    load = os.getloadavg()[0] if hasattr(os, 'getloadavg') else None
    ticks = cpu_ticks()
    rows = []
    for task_id in args.tasks:
        rows += bench_task(task_id, args.envs, args.steps, args.repeats)
    after = cpu_ticks()
    steal = None
    if ticks and after and after[1] > ticks[1]:
        steal = (after[0] - ticks[0]) / (after[1] - ticks[1])
    body = report(rows, args, command, load, steal)
    print(body)
    if args.write:
        write_section(args.write, 'bench_envs', body)
        print(f'\nwrote {args.write}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
