# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""`predctl eval`: metrics of a checkpoint's policy on a task's fixed test (or validation) set."""

import json

from predctl_ros.commands import error

HELP = ("evaluate a checkpoint's policy on the task's fixed test set, or on chained goals "
        'as the ROS demo sends them (--chained)')


def add_arguments(parser):
    """
    Declare the arguments of `predctl eval`.

    :param parser: the subcommand's parser.
    """
    parser.add_argument('--checkpoint', required=True, help='checkpoint file')
    parser.add_argument('--task', help="task id (default: the checkpoint's)")
    parser.add_argument('--split', choices=('test', 'validation'), default='test',
                        help='which fixed (start, goal) pairs: the test set (final reports) '
                        'or the validation set (choosing settings and iterations)')
    parser.add_argument('--json', action='store_true', help='print the metrics as JSON')
    parser.add_argument('--activity', action='store_true',
                        help="add the spiking policy's spikes and SynOps per control step, and "
                        'an energy estimate (energy_*: microjoules per control step, '
                        'microwatts at the control rate; predctl_ros/snn/energy.py)')
    parser.add_argument('--within', type=float, action='append', default=[], metavar='D',
                        help='add the fraction of episodes ending closer than D to the goal '
                        '(goal units; repeatable)')
    parser.add_argument('--chained', type=int, default=0, metavar='N',
                        help='panda_reach: instead of the test set, send N goals one after '
                        "another per world, as the demo's random goal publisher does "
                        '(each from where the arm is, the network reset on a new goal)')
    parser.add_argument('--goal-seeds', type=int, default=32, metavar='S',
                        help='with --chained: worlds, one per goal-publisher seed 0 .. S-1')


def run(args) -> int:
    """
    Roll out the policy on every pair of the chosen split and print the metrics.

    :param args: parsed arguments.
    :return: 0, or 2 when the checkpoint does not fit the task.
    """
    from predctl_ros import envs
    from predctl_ros.learning.checkpoint_policy import load_policy
    from predctl_ros.learning.train import evaluate
    from predctl_ros.snn.checkpoint import CheckpointError

    try:
        policy, task, options = load_policy(args.checkpoint, args.task)
    except CheckpointError as exc:
        return error(args, exc)
    if args.chained:
        return _run_chained(args, policy, task, options)
    monitor = None
    if args.activity and hasattr(policy, 'fan_out'):
        from predctl_ros.snn.monitors import ActivityMonitor
        monitor = ActivityMonitor(policy)
    pairs = (envs.test_set if args.split == 'test' else envs.validation_set)(task)
    with envs.make_batched_env(task, len(pairs), **options) as env:
        metrics = evaluate(policy, env, pairs, monitor=monitor, within=args.within)
    metrics = {'task': task, 'task_options': options, 'checkpoint': str(args.checkpoint),
               'split': args.split,
               **metrics,
               'policy_parameters': sum(p.numel() for p in policy.parameters())}
    if monitor is not None:
        activity = monitor.summary()
        metrics.update({'policy_spikes_per_step': sum(activity['spikes_per_step']),
                        'policy_rate_hz': activity['rate_hz'],
                        'policy_synops_per_step': activity['synops_total_per_step']})
    if args.activity:
        metrics.update(_energy(policy, monitor, envs.task_spec(task, **options).control_dt_s))
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        width = max(28, *map(len, metrics))
        for key, value in metrics.items():
            print(f'{key:{width}s} {value}')
    return 0


def _energy(policy, monitor, control_dt_s) -> dict:
    from predctl_ros.learning.train import BASELINE_HIDDEN
    from predctl_ros.snn import energy
    from predctl_ros.snn.networks import MLPNet

    if monitor is not None:
        # Compared with the non-spiking baseline policy as `predctl train` builds it.
        estimate = energy.snn_estimate(policy, monitor.summary()['synops_total_per_step'],
                                       control_dt_s, mlp_hidden=BASELINE_HIDDEN['mlp'])
        # Measured SynOps are printed already, as policy_synops_per_step.
        del estimate['synops_per_step']
    elif isinstance(policy, MLPNet):
        estimate = energy.mlp_estimate(policy, control_dt_s)
    else:
        return {}
    return {f'energy_{key}': value for key, value in estimate.items()}


def _run_chained(args, policy, task, options) -> int:
    from predctl_ros.learning.chained import demo_goals, demo_start, evaluate_chained

    if task != 'panda_reach':
        return error(args, f'--chained replays the Panda demo; the task is {task}')
    if args.chained < 1 or args.goal_seeds < 1:
        return error(args, '--chained and --goal-seeds need positive counts')
    result = evaluate_chained(policy, demo_goals(args.goal_seeds, args.chained), demo_start(),
                              options)
    summary = {'task': task, 'checkpoint': str(args.checkpoint), 'worlds': result['worlds'],
               'goals_per_world': result['goals_per_world']}
    for part in ('first', 'chained'):
        if part in result:
            summary.update({f'{part}_{key}': value for key, value in result[part].items()})
    if args.json:
        print(json.dumps({**summary, 'final_distance': result['final_distance']}, indent=2))
    else:
        for key, value in summary.items():
            print(f'{key:36s} {value}')
    return 0
