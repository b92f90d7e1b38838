# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Benchmark ingesting recorded bags into the replay buffer against plain rosbags reading.

Workload: a bag of ``--episodes`` (128) simulated Panda reaches of ``--steps`` (200)
control steps each (reference controller, one goal per episode, a 1 s time gap between
episodes), as the stack records it: per control step one sensor_msgs/JointState (7
joints, stamped) and one std_msgs/Float64MultiArray (7 torques), plus one
geometry_msgs/PointStamped per goal on /active_target. The bag is written once per
storage format (MCAP, sqlite3) with :class:`predctl_ros.bags.BagWriter`. Variants, all on
the same bag in the same process:

* ``rosbags read``: iterate the raw messages of the bag (no deserialisation): the floor;
* ``rosbags read + deserialise``: the same plus ``Typestore.deserialize_cdr`` of every
  message, the plain way to read a bag with rosbags (the reference of the goal);
* ``read_bag``: :func:`predctl_ros.bags.read_bag`, checks and arrays, no conversion;
* ``bags -> ReplayBuffer``: :func:`predctl_ros.bags.load_bags` (read, resample, cut,
  observations of the task) and :func:`predctl_ros.bags.fill_replay` into a fresh
  buffer: the full ingestion.

Each variant is timed ``--repeats`` times, the variants interleaved (one run of each,
then the next round), and the best (shortest) run is reported, since other processes on
a shared machine only ever add time. ``vs
deserialise`` is the wall time over that of ``rosbags read + deserialise`` (goal for the
ingestion: <= 1.5).

Usage::

    python bench/bench_bags.py                       # prints a markdown table
    python bench/bench_bags.py --quick               # smoke run, a few seconds
    python bench/bench_bags.py --write docs/benchmarks.md
"""

import argparse
import datetime
import os
import platform
import shlex
import sys
import tempfile
import time

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from predctl_ros import bags, envs  # noqa: E402
from predctl_ros.learning.replay import ReplayBuffer  # noqa: E402
import rosbags  # noqa: E402, I100
from rosbags.rosbag2 import Reader  # noqa: E402

try:
    from bench.report import cpu_model, cpu_ticks, write_section  # noqa: E402
except ImportError:  # run as a script: bench/ is sys.path[0]
    from report import cpu_model, cpu_ticks, write_section  # noqa: E402

JOINT_STATE = 'sensor_msgs/msg/JointState'
COMMAND = 'std_msgs/msg/Float64MultiArray'
TARGET = 'geometry_msgs/msg/PointStamped'
GAP_NS = 1_000_000_000
WALL_STEP_NS = 5_000_000


def simulate(episodes, steps, seed=0):
    """
    Run the reference controller on a batch of worlds.

    :param episodes: worlds (one episode each).
    :param steps: control steps.
    :param seed: reset seed.
    :return: (qpos [steps + 1, N, 7], qvel, torques [steps, N, 7], goals [N, 3]).
    """
    env = envs.make_batched_env('panda_reach', episodes, num_threads=1, episode_steps=steps)
    controller = envs.reference_controller('panda_reach', task=env.task)
    env.reset(seed=seed)
    goals = env.goals.copy()
    qpos = [np.array([d.qpos for d in env.datas])]
    qvel = [np.array([d.qvel for d in env.datas])]
    torques = []
    for _ in range(steps):
        action = np.clip(controller.batch(env.datas, env.goals), -1, 1)
        env.step(action)
        torques.append(np.concatenate([action * env.task.effort,
                                       np.zeros((episodes, 1))], axis=1))
        qpos.append(np.array([d.qpos for d in env.datas]))
        qvel.append(np.array([d.qvel for d in env.datas]))
    env.close()
    return np.array(qpos), np.array(qvel), np.array(torques), goals


def write_bag(path, storage, qpos, qvel, torques, goals):
    """
    Write the simulated episodes one after the other into a bag.

    :param path: bag folder to create.
    :param storage: 'mcap' or 'sqlite3'.
    :param qpos: [S + 1, N, 7].
    :param qvel: [S + 1, N, 7].
    :param torques: [S, N, 7].
    :param goals: [N, 3].
    :return: number of messages written.
    """
    store = bags.typestore()
    types = store.types
    names = [f'panda_joint{i}' for i in range(1, 8)]
    layout = types['std_msgs/msg/MultiArrayLayout'](dim=[], data_offset=0)
    n_steps, n_eps = torques.shape[:2]
    count = 0
    with bags.BagWriter(path, storage) as writer:
        for topic, msgtype in (('/joint_states', JOINT_STATE),
                               ('/effort_controller/commands', COMMAND),
                               ('/active_target', TARGET)):
            writer.add_topic(topic, msgtype)
        sim, wall = 100 * 10**9, 1_760_000_000 * 10**9
        for i in range(n_eps):
            header = types['std_msgs/msg/Header']
            stamp = types['builtin_interfaces/msg/Time']
            point = types['geometry_msgs/msg/Point'](*map(float, goals[i]))
            target = types[TARGET](header(stamp(sim // 10**9, sim % 10**9), 'panda_link0'),
                                   point)
            writer.write('/active_target', store.serialize_cdr(target, TARGET), wall)
            for k in range(n_steps + 1):
                wall += WALL_STEP_NS
                msg = types[JOINT_STATE](
                    header(stamp(sim // 10**9, sim % 10**9), ''), names, qpos[k, i],
                    qvel[k, i], np.zeros(0))
                writer.write('/joint_states', store.serialize_cdr(msg, JOINT_STATE), wall)
                if k < n_steps:
                    msg = types[COMMAND](layout, torques[k, i])
                    writer.write('/effort_controller/commands',
                                 store.serialize_cdr(msg, COMMAND), wall + 1_000_000)
                    sim += 20_000_000
                count += 2 if k < n_steps else 1
            count += 1
            sim += GAP_NS
            wall += GAP_NS
    return count


def bench_storage(path, repeats, steps, task):
    """
    Time every variant on one bag.

    :param path: the bag.
    :param repeats: timed runs per variant.
    :param steps: control steps per episode (to check the ingestion).
    :param task: the panda_reach task.
    :return: list of (variant, seconds).
    """
    store = bags.typestore()

    def read_raw():
        with Reader(path) as reader:
            return sum(1 for _ in reader.messages())

    def read_deserialise():
        with Reader(path) as reader:
            n = 0
            for connection, _, raw in reader.messages():
                store.deserialize_cdr(raw, connection.msgtype)
                n += 1
            return n

    options = bags.ConvertOptions(min_steps=45)

    def read_arrays():
        return bags.read_bag(path, task.joint_names)

    def ingest():
        load = bags.load_bags([path], task, options)
        if load.errors:
            raise RuntimeError(load.errors[0])
        buffer = ReplayBuffer(task.spec.obs_size, task.spec.action_size, task.spec.goal_size)
        return bags.fill_replay(buffer, load.episodes), len(load.episodes)

    variants = (('rosbags read', read_raw), ('rosbags read + deserialise', read_deserialise),
                ('read_bag (arrays)', read_arrays), ('bags -> ReplayBuffer', ingest))
    best, results = {name: np.inf for name, _ in variants}, {}
    for _ in range(repeats):  # interleaved, so that load changes hit every variant alike
        for name, function in variants:
            start = time.perf_counter()
            results[name] = function()
            best[name] = min(best[name], time.perf_counter() - start)
    added, episodes = results['bags -> ReplayBuffer']
    if added != episodes * steps:
        raise RuntimeError(f'ingested {added} transitions in {episodes} episodes, expected '
                           f'{steps} per episode')
    rows = [(name, best[name]) for name, _ in variants]
    return rows


def markdown_table(results, messages):
    """
    Format the results.

    :param results: {storage: [(variant, seconds)]}.
    :param messages: messages in each bag.
    :return: markdown table text.
    """
    lines = ['| storage | variant | messages/s | wall time | vs deserialise |',
             '|---|---|---:|---:|---:|']
    for storage, rows in results.items():
        reference = dict(rows)['rosbags read + deserialise']
        for name, seconds in rows:
            lines.append(f'| {storage} | {name} | {messages / seconds:,.0f} | '
                         f'{seconds:.3f} s | {seconds / reference:.2f} |')
    return '\n'.join(lines)


def report(results, messages, args, command, load, steal):
    """
    Build the markdown section.

    :param results: {storage: [(variant, seconds)]}.
    :param messages: messages in each bag.
    :param args: parsed arguments.
    :param command: the command line.
    :param load: 1-minute load average before the run, or None.
    :param steal: fraction of CPU time stolen during the run, or None.
    :return: markdown text without the markers.
    """
    now = datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')
    lines = [
        '## Bag ingestion benchmark (bench/bench_bags.py)',
        '',
        f'- Command: `{command}`',
        f'- Date: {now}',
        f'- CPU: {cpu_model()}',
        f'- rosbags {_version()}, numpy {np.__version__}, Python '
        f'{platform.python_version()}',
        f'- Workload: one bag of {args.episodes} simulated Panda reaches x {args.steps} '
        f'control steps ({messages:,} messages: JointState + Float64MultiArray per step, '
        'one PointStamped target per episode); best of '
        f'{args.repeats} interleaved runs per variant',
        '- vs deserialise: wall time over that of reading the same bag with rosbags and '
        'deserialising every message (goal for `bags -> ReplayBuffer`: <= 1.5)',
    ]
    if load is not None:
        lines.append(f'- Load average before the run: {load:.2f}'
                     + (f'; CPU steal during the run: {100 * steal:.1f} %'
                        if steal is not None else ''))
    if args.quick:
        lines.append('- **--quick smoke run: tiny workload, not comparable**')
    lines += ['', markdown_table(results, messages)]
    return '\n'.join(lines)


def _version():
    try:
        from importlib.metadata import version
        return version('rosbags')
    except Exception:  # metadata missing in odd installs
        return getattr(rosbags, '__version__', '?')


def parse_args(argv):
    """
    Parse the command line.

    :param argv: arguments without the program name.
    :return: argparse namespace.
    """
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--episodes', type=int, default=128, help='episodes in the bag')
    parser.add_argument('--steps', type=int, default=200, help='control steps per episode')
    parser.add_argument('--repeats', type=int, default=3, help='timed runs per variant')
    parser.add_argument('--storage', nargs='+', choices=sorted(bags.STORAGES),
                        default=['mcap', 'sqlite3'])
    parser.add_argument('--quick', action='store_true', help='smoke run: 4 x 60 steps')
    parser.add_argument('--write', metavar='FILE',
                        help='replace the bench_bags section of this markdown file')
    args = parser.parse_args(argv)
    if args.quick:
        args.episodes, args.steps, args.repeats = 4, 60, 1
    if args.episodes < 1 or args.steps < 45 or args.repeats < 1:
        parser.error('--episodes and --repeats must be >= 1, --steps >= 45')
    return args


def main(argv=None):
    """
    Run the benchmark and print (and optionally write) the markdown section.

    :param argv: arguments without the program name (default sys.argv[1:]).
    :return: exit status 0.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    command = shlex.join(['python', 'bench/bench_bags.py'] + argv)
    qpos, qvel, torques, goals = simulate(args.episodes, args.steps)
    task = envs.make_task('panda_reach')
    load = os.getloadavg()[0] if hasattr(os, 'getloadavg') else None
    ticks = cpu_ticks()
    results = {}
    with tempfile.TemporaryDirectory(prefix='bench_bags_') as tmp:
        for storage in args.storage:
            path = os.path.join(tmp, storage)
            messages = write_bag(path, storage, qpos, qvel, torques, goals)
            results[storage] = bench_storage(path, args.repeats, args.steps, task)
    after = cpu_ticks()
    steal = None
    if ticks and after and after[1] > ticks[1]:
        steal = (after[0] - ticks[0]) / (after[1] - ticks[1])
    body = report(results, messages, args, command, load, steal)
    print(body)
    if args.write:
        write_section(args.write, 'bench_bags', body)
        print(f'\nwrote {args.write}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
