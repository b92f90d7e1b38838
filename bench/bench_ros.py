# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Benchmark the ROS stack's timing: realtime control at 50 Hz and the policy node's top rate.

1. Realtime: sim_node and policy_node (realtime mode, ``--rate`` Hz) with a goal, for
   ``--duration`` seconds, optionally beside a busy training run (``--load train``). A
   probe node on the same domain timestamps every /joint_states and
   /effort_controller/commands message on arrival and reports
   * period jitter: deviation of the joint-state inter-arrival time from the period;
   * missed periods: joint states with no command before the next joint state;
   * state-to-command latency inside policy_node (from its /diagnostics: joint state
     arrival to command published; p50 = median of the 1 s windows, p99 = worst window),
     and as a third node sees it (a command's arrival minus its state's arrival, which
     adds the probe's own callback scheduling);
   * late commands: the share policy_node published more than 2 ms (a tenth of the period)
     after their state arrived, over the whole window (its /diagnostics counts them);
   * CPU per node: utime + stime from /proc over the window, as % of one core;
   * the platform's floor: before the nodes start, a bare SCHED_FIFO process on the
     control CPUs sleeps to each period and records how late it wakes up, under the same
     load. No ROS and no network: what the machine and its kernel allow.
   The nodes run as config/panda_reach.yaml says (SCHED_FIFO priority 50, EventsExecutor);
   the probe one priority below them. ``--control-cpus 0 --load-cpus 1`` reserves a core
   for the control nodes and keeps the training load off it (written as its own section).
2. Top rate: policy_node in lockstep mode answers each joint state with one command; the
   probe sends the next state as soon as a command arrives (ping-pong) for
   ``--pingpong`` seconds; the rate is answered states per second.

Usage::

    python bench/bench_ros.py                               # 5 min realtime, with training load
    python bench/bench_ros.py --quick                       # 20 s smoke run
    python bench/bench_ros.py --write docs/benchmarks.md
    python bench/bench_ros.py --control-cpus 0 --load-cpus 1 --write docs/benchmarks.md
"""

import argparse
import datetime
import gc
import json
import os
from pathlib import Path
import shlex
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from predctl_ros import stack  # noqa: E402
from predctl_ros.bringup import Bringup, find_executable, node_command  # noqa: E402
from predctl_ros.realtime import parse_cpus, set_cpu_affinity, set_realtime_priority  # noqa: E402,E501

try:
    from bench.report import cpu_model, write_section  # noqa: E402
except ImportError:  # run as a script: bench/ is sys.path[0]
    from report import cpu_model, write_section  # noqa: E402

GOAL = (0.45, 0.1, 0.45)
CLOCK_TICKS = os.sysconf('SC_CLK_TCK')


def cpu_seconds(pid: int) -> float:
    """Return the user + system CPU seconds a process has used."""
    with open(f'/proc/{pid}/stat') as handle:
        fields = handle.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def start_nodes(values, log_dir, names=('sim_node', 'policy_node')) -> Bringup:
    """Start some of the stack's nodes as bring-up does, their output in log_dir/nodes.log."""
    running = Bringup(out=open(Path(log_dir) / 'nodes.log', 'w'))
    for node in stack.panda_reach_nodes(values):
        if node.executable in names:
            running.start(node.name, node_command(
                node, find_executable(node.package, node.executable), log_dir))
    return running


def pin(priority: int, cpus: str, who: str) -> None:
    """Give this process SCHED_FIFO priority and CPUs (0 / empty: leave as is)."""
    for reason in (set_realtime_priority(priority), set_cpu_affinity(parse_cpus(cpus))):
        if reason:
            raise RuntimeError(f'{who}: {reason}')


def sleeper(priority: int, cpus: str, duration: float, period: float) -> dict:
    """
    Wake up every period at SCHED_FIFO priority and record how late each wake-up is.

    The platform's own floor for a real-time loop: no ROS, no network, only sleep and
    wake, under the same load as the nodes.

    :return: dict of wake-up lateness p50 / p99 / max (ms) and the count over 2 ms.
    """
    gc.disable()
    pin(priority, cpus, 'sleeper')
    late = np.zeros(int(duration / period))
    due = time.monotonic() + period
    for i in range(len(late)):
        time.sleep(max(0.0, due - time.monotonic()))
        late[i] = time.monotonic() - due
        due += period
    late *= 1e3
    return {'p50': float(np.percentile(late, 50)), 'p99': float(np.percentile(late, 99)),
            'max': float(late.max()), 'over_2ms': int((late > 2.0).sum()), 'n': len(late)}


def start_sleeper(priority: int, cpus: str, duration: float,
                  period: float) -> subprocess.Popen:
    """Run :func:`sleeper` in a process of its own; its result is one JSON line."""
    return subprocess.Popen([sys.executable, __file__, '--sleeper', str(priority), cpus,
                             str(duration), str(period)], stdout=subprocess.PIPE, text=True)


def start_load(kind, out_dir, cpus: str = ''):
    """Start a background CPU load: a training run (or nothing), on some CPUs if given."""
    if kind == 'none':
        return None
    cmd = [find_executable('predctl_ros', 'predctl'), 'train', '--config',
           str(REPO_ROOT / 'config' / 'train_reach2d.yaml'), '--out', str(out_dir),
           '--set', 'iterations=1000']
    pinned = parse_cpus(cpus)
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=(lambda: os.sched_setaffinity(0, pinned)) if pinned
                            else None)


class Probe:
    """Timestamp joint states and commands on arrival; send goals and ping-pong states."""

    def __init__(self, priority: int = 0):
        """
        Create an rclpy node with the stack's topics.

        :param priority: SCHED_FIFO priority of the probe (0: normal), set before rclpy
            starts its threads so that they inherit it: the probe's timestamps are the
            measurement, so a busy load must not delay them either.
        """
        pin(priority, '', 'probe')
        import rclpy
        from geometry_msgs.msg import PointStamped
        from rclpy.qos import qos_profile_sensor_data
        from sensor_msgs.msg import JointState
        from std_msgs.msg import Float64MultiArray
        self.rclpy = rclpy
        rclpy.init()
        self.node = rclpy.create_node('bench_probe')
        from diagnostic_msgs.msg import DiagnosticArray
        self.states, self.commands, self.policy_windows = [], [], []
        self.last_state = None
        self.node.create_subscription(JointState, '/joint_states', self._on_state,
                                      qos_profile_sensor_data)
        self.node.create_subscription(Float64MultiArray, '/effort_controller/commands',
                                      self._on_command, 10)
        self.node.create_subscription(DiagnosticArray, '/diagnostics', self._on_diagnostics, 10)
        self.goal_pub = self.node.create_publisher(PointStamped, '/clicked_point', 10)
        self.state_pub = self.node.create_publisher(JointState, '/joint_states', 10)
        self.PointStamped, self.JointState = PointStamped, JointState

    def _on_state(self, msg):
        self.states.append(time.perf_counter())
        self.last_state = msg

    def _on_command(self, msg):
        self.commands.append(time.perf_counter())

    def _on_diagnostics(self, msg):
        for status in msg.status:
            values = {kv.key: kv.value for kv in status.values}
            if 'state_to_command_p99_ms' in values:
                self.policy_windows.append(values)

    def wait_for_policy(self, timeout=120.0):
        """Spin until the policy node subscribes to goals and joint states."""
        end = time.perf_counter() + timeout
        while time.perf_counter() < end:
            if self.goal_pub.get_subscription_count() and \
                    self.state_pub.get_subscription_count():
                return
            self.rclpy.spin_once(self.node, timeout_sec=0.05)
        raise RuntimeError('policy_node did not come up')

    def spin(self, seconds):
        """Spin for a while."""
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            self.rclpy.spin_once(self.node, timeout_sec=0.01)

    def send_goal(self, xyz):
        """Publish a 3-D goal as RViz's Publish Point does."""
        msg = self.PointStamped()
        msg.header.frame_id = 'panda_link0'
        msg.point.x, msg.point.y, msg.point.z = xyz
        self.goal_pub.publish(msg)

    def close(self):
        """Shut rclpy down."""
        self.node.destroy_node()
        self.rclpy.shutdown()


def realtime_stats(states, commands, period):
    """
    Pair each joint state with the first command before the next state.

    :return: dict of jitter, missed periods and latency statistics (ms).
    """
    states, commands = np.asarray(states), np.asarray(commands)
    following = np.searchsorted(commands, states)
    answered, latency = 0, []
    for i in range(len(states) - 1):
        j = following[i]
        if j < len(commands) and commands[j] < states[i + 1]:
            answered += 1
            latency.append(commands[j] - states[i])
    jitter = np.abs(np.diff(states) - period) * 1e3
    latency = np.asarray(latency) * 1e3
    return {
        'states': len(states), 'missed': len(states) - 1 - answered,
        'jitter_p50': np.percentile(jitter, 50), 'jitter_p99': np.percentile(jitter, 99),
        'jitter_max': jitter.max(),
        'latency_p50': np.percentile(latency, 50) if len(latency) else np.nan,
        'latency_p99': np.percentile(latency, 99) if len(latency) else np.nan,
    }


def bench_realtime(args, log_dir):
    """Run the realtime stack beside the load and return its timing statistics."""
    values = {'mode': 'realtime', 'control_rate_hz': str(args.rate),
              'checkpoint': args.checkpoint, 'control_cpus': args.control_cpus}
    load = start_load(args.load, Path(log_dir) / 'train', args.load_cpus)
    # The platform's floor first, alone on the control CPUs under the same load: beside the
    # nodes at equal FIFO priority it would measure their run time, not the platform.
    time.sleep(args.settle)
    floor, _ = start_sleeper(args.priority, args.control_cpus, min(args.duration, 60.0),
                             1.0 / args.rate).communicate(timeout=args.duration + 120)
    running = start_nodes(values, log_dir)
    procs = running.procs
    # One below the nodes, on any CPU: the probe must not delay what it measures.
    probe = Probe(max(args.priority - 1, 0))
    try:
        probe.wait_for_policy()
        probe.send_goal(GOAL)
        probe.spin(args.settle)
        before = probe.policy_windows[-1] if probe.policy_windows else {}
        probe.states.clear()
        probe.commands.clear()
        probe.policy_windows.clear()
        cpu0 = {n: cpu_seconds(p.pid) for n, p in procs.items()}
        wall0 = time.perf_counter()
        probe.spin(args.duration)
        wall = time.perf_counter() - wall0
        cpu = {n: 100 * (cpu_seconds(p.pid) - cpu0[n]) / wall for n, p in procs.items()}
        stats = realtime_stats(list(probe.states), list(probe.commands), 1.0 / args.rate)
        windows = list(probe.policy_windows)
        stats['node_p50'] = float(np.median([float(w['state_to_command_p50_ms'])
                                             for w in windows])) if windows else np.nan
        stats['node_p99'] = max(float(w['state_to_command_p99_ms'])
                                for w in windows) if windows else np.nan
        stats['step_p50'] = float(np.median([float(w['step_latency_p50_ms'])
                                             for w in windows])) if windows else np.nan
        # Counts run over the node's life: the window's share is the difference.
        timed, late = (int(windows[-1][k]) - int(before.get(k, 0)) if windows else 0
                       for k in ('timed_commands_total', 'late_commands_total'))
        stats['late'], stats['timed'] = late, timed
        stats['late_ms'] = windows[-1]['late_threshold_ms'] if windows else '?'
        stats['floor'] = json.loads(floor)
    finally:
        probe.close()
        running.stop()
        if load is not None:
            # SIGTERM: a shell that starts the benchmark in the background leaves SIGINT
            # ignored in its children.
            load.terminate()
            try:
                load.wait(30)
            except subprocess.TimeoutExpired:
                load.kill()
                load.wait()
    stats.update({f'cpu_{n}': v for n, v in cpu.items()}, wall=wall)
    return stats


def bench_pingpong(args, log_dir):
    """Ping-pong joint states with a lockstep policy node; return answered states per s."""
    values = {'mode': 'lockstep', 'control_rate_hz': '50.0', 'checkpoint': args.checkpoint}
    # Only the policy runs: the probe plays the simulator.
    running = start_nodes(values, log_dir, names=('policy_node',))
    probe = Probe()
    names = [f'panda_joint{i}' for i in range(1, 8)]
    q = [0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.0]

    def send_state():
        msg = probe.JointState()
        msg.header.stamp = probe.node.get_clock().now().to_msg()
        msg.name, msg.position, msg.velocity, msg.effort = names, q, [0.0] * 7, [0.0] * 7
        probe.state_pub.publish(msg)

    try:
        probe.wait_for_policy()
        probe.send_goal(GOAL)
        probe.spin(1.0)
        answered = len(probe.commands)
        send_state()
        start = time.perf_counter()
        deadline = start + args.pingpong
        while time.perf_counter() < deadline:
            before = len(probe.commands)
            wait_end = time.perf_counter() + 0.1
            while len(probe.commands) == before and time.perf_counter() < wait_end:
                probe.rclpy.spin_once(probe.node, timeout_sec=0.001)
            send_state()
        rate = (len(probe.commands) - answered) / (time.perf_counter() - start)
    finally:
        probe.close()
        running.stop()
    return rate


def main(argv=None):
    """Run the benchmark and print (or write) the markdown section."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ['--sleeper']:
        print(json.dumps(sleeper(int(argv[1]), argv[2], float(argv[3]), float(argv[4]))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--duration', type=float, default=300.0, help='realtime window (s)')
    parser.add_argument('--rate', type=float, default=50.0, help='control rate (Hz)')
    parser.add_argument('--load', choices=['train', 'none'], default='train')
    parser.add_argument('--pingpong', type=float, default=20.0, help='ping-pong window (s)')
    parser.add_argument('--settle', type=float, default=3.0,
                        help='wait after the goal before measuring (s)')
    parser.add_argument('--checkpoint', default='')
    parser.add_argument('--priority', type=int, default=50,
                        help='SCHED_FIFO priority of the probe in the realtime run (0: normal; '
                             'the nodes take theirs from config/panda_reach.yaml)')
    parser.add_argument('--control-cpus', default='', metavar='CPUS',
                        help="CPUs reserved for the nodes and the sleeper, e.g. '0' "
                             '(stack argument control_cpus; empty: any)')
    parser.add_argument('--load-cpus', default='', metavar='CPUS',
                        help="CPUs of the training load, e.g. '1' (empty: any)")
    parser.add_argument('--quick', action='store_true', help='20 s realtime, 5 s ping-pong')
    parser.add_argument('--write', metavar='FILE')
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.pingpong = min(args.duration, 20.0), min(args.pingpong, 5.0)
    os.environ.setdefault('ROS_DOMAIN_ID', str(90 + os.getpid() % 10))
    with tempfile.TemporaryDirectory() as log_dir:
        # Ping-pong first: the realtime run leaves this process under SCHED_FIFO.
        rate = bench_pingpong(args, log_dir)
        rt = bench_realtime(args, log_dir)
    fl = rt['floor']
    cmd = 'python bench/bench_ros.py ' + ' '.join(shlex.quote(a) for a in argv)
    title = 'ROS stack timing' + (', control core reserved' if args.control_cpus else
                                  ', cores shared')
    body = '\n'.join([
        f'## {title}',
        '',
        f'`{cmd.strip()}` on {cpu_model()}, '
        f'{datetime.date.today().isoformat()}. Realtime window {rt["wall"]:.0f} s at '
        f'{args.rate:g} Hz, load: {args.load}'
        f'{f" on CPUs {args.load_cpus}" if args.load_cpus else ""}; control nodes, probe and '
        f'sleeper on CPUs {args.control_cpus or "any"}, probe on any CPU.',
        '',
        '| measure | value | goal |',
        '|---|---|---|',
        f'| joint states received | {rt["states"]} | |',
        f'| missed control periods | {rt["missed"]} | 0 |',
        f'| period jitter p50 / p99 / max (ms) | {rt["jitter_p50"]:.2f} / '
        f'{rt["jitter_p99"]:.2f} / {rt["jitter_max"]:.2f} | |',
        f'| policy_node: joint state arrival -> command published, median of the 1 s '
        f'windows\' p50 / worst window\'s p99 (ms) | {rt["node_p50"]:.2f} / '
        f'{rt["node_p99"]:.2f} | |',
        f'| policy_node: commands later than {rt["late_ms"]} ms after their state | '
        f'{rt["late"]} of {rt["timed"]} ({rt["late"] / max(rt["timed"], 1):.2%}) | '
        '< 1 % (overall p99 <= 2 ms) |',
        f'| policy_node: SNN step alone, p50 (ms) | {rt["step_p50"]:.3f} | |',
        f'| seen by a third node: state -> command p50 / p99 (ms) | {rt["latency_p50"]:.2f} / '
        f'{rt["latency_p99"]:.2f} | |',
        f'| platform floor: a bare SCHED_FIFO sleeper on the control CPUs under the same '
        f'load, {fl["n"] / args.rate:.0f} s before the nodes start: wake-up lateness p50 / '
        f'p99 / max (ms), wake-ups over 2 ms | {fl["p50"]:.2f} / {fl["p99"]:.2f} / '
        f'{fl["max"]:.2f}, {fl["over_2ms"]} of {fl["n"]} | |',
        f'| CPU sim_node / policy_node (% of a core) | {rt.get("cpu_sim_node", 0):.0f} / '
        f'{rt.get("cpu_policy_node", 0):.0f} | |',
        f'| policy_node top rate, ping-pong (Hz) | {rate:.0f} | >= 500 |',
    ])
    print(body)
    if args.write:
        write_section(args.write, 'bench_ros_reserved' if args.control_cpus else 'bench_ros',
                      body)
    return 0


if __name__ == '__main__':
    sys.exit(main())
