# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
`predctl render`: render a reaching episode offscreen to PNG, MP4 and GIF files.

The arm is driven by the task's reference controller, by zero torque, or by a
checkpoint's policy (spiking or a baseline), toward a test-set goal or given goals; for
a spiking policy ``--raster`` draws its spikes over the same episode.
Headless machines use MUJOCO_GL=egl unless MUJOCO_GL is set (see predctl_ros.envs.render).
"""

import argparse
import os
import re

from predctl_ros.commands import error

HELP = ('render a reaching episode offscreen (reference controller, zero torque or a '
        "checkpoint's policy) to PNG / MP4 / GIF, and a spiking policy's spike raster")


def _goal(text: str) -> tuple:
    try:
        return tuple(float(value) for value in text.split(','))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'{text!r} is not a goal: give its coordinates separated by commas, '
            'e.g. 0.4,0.2,0.5') from None


def add_arguments(parser):
    """
    Declare the arguments of `predctl render`.

    :param parser: the subcommand's parser.
    """
    # A goal such as -0.3,0.6 is a value, not an option; argparse's own test for a
    # negative number (private, no public switch) does not allow the commas.
    parser._negative_number_matcher = re.compile(r'^-\.?\d')
    parser.add_argument('--checkpoint', metavar='CKPT',
                        help="the checkpoint's policy drives the arm (spiking or a GRU/MLP "
                        'baseline), in its task built with its task options')
    parser.add_argument('--task', choices=('panda_reach', 'reach2d'),
                        help="task (default: the checkpoint's, else panda_reach)")
    parser.add_argument('--controller', choices=('reference', 'zero'),
                        help='without --checkpoint: who drives the arm, the reference '
                        'controller (the default) or zero torque')
    parser.add_argument('--episode', type=int,
                        help='index into the fixed test set of the task: its start and goal '
                        '(default 0); with --goals, its start')
    parser.add_argument('--goals', type=_goal, nargs='+', metavar='X,Y[,Z]',
                        help='goals to reach one after another, each for --steps from where '
                        'the arm is (the network reset on each, as the policy node does), '
                        'starting from the test pair of --episode or else a rest pose '
                        '(panda_reach: metres in the base frame)')
    parser.add_argument('--steps', type=int, default=None,
                        help='control steps per goal (default: the whole episode)')
    parser.add_argument('--png', metavar='FILE', help='write the frame at --png-step here')
    parser.add_argument('--png-step', type=int, default=-1,
                        help='control step of the PNG frame (0 = start, -1 = the last)')
    parser.add_argument('--mp4', metavar='FILE', help='write the episode as a video here')
    parser.add_argument('--gif', metavar='FILE', help='write the episode as a GIF here')
    parser.add_argument('--raster', metavar='FILE',
                        help="with a spiking --checkpoint: write a figure of the policy's "
                        'spikes in each hidden layer, its actions and the distance to the '
                        'goal over the episode here (PNG)')
    parser.add_argument('--width', type=int, default=640)
    parser.add_argument('--height', type=int, default=480)
    parser.add_argument('--every', type=int, default=1,
                        help='video and GIF: one frame every N control steps '
                        '(50 Hz / N frames/s)')


def run(args) -> int:
    """
    Render the episode and write the requested files.

    :param args: parsed arguments.
    :return: 0 on success, 2 on bad arguments or when no OpenGL context is available.
    """
    if 'MUJOCO_GL' not in os.environ and not os.environ.get('DISPLAY'):
        os.environ['MUJOCO_GL'] = 'egl'
    from predctl_ros.envs import episodes, image_files, render

    try:
        setup = _setup(args)
    except ValueError as exc:
        return error(args, exc)
    task, outputs = setup['task'], setup['outputs']
    video = outputs['mp4'] is not None or outputs['gif'] is not None
    try:
        episode = episodes.render_episode(
            task, controller=setup['controller'],
            episode=0 if args.episode is None else args.episode, start=setup['start'],
            goals=args.goals, steps=setup['steps'], width=args.width, height=args.height,
            every=args.every if video else None,
            stills=() if outputs['png'] is None else (args.png_step,),
            policy=setup['policy'], task_options=setup['options'])
    except (ValueError, render.RenderError, episodes.EpisodeDiverged) as exc:
        return error(args, exc)
    if outputs['png'] is not None:
        image_files.save_png(outputs['png'], episode.stills[0])
        print(f'wrote {outputs["png"]}')
    if outputs['mp4'] is not None:
        image_files.save_mp4(outputs['mp4'], episode.video, fps=50.0 / args.every)
        print(f'wrote {outputs["mp4"]} ({len(episode.video)} frames)')
    if outputs['gif'] is not None:
        image_files.save_gif(outputs['gif'], episode.video, fps=50.0 / args.every)
        print(f'wrote {outputs["gif"]} ({len(episode.video)} frames)')
    if outputs['raster'] is not None:
        counts = _write_raster(args, setup, episode.trace)
        print(f'wrote {outputs["raster"]} (spikes: '
              + ', '.join(f'hidden {i + 1} {c}' for i, c in enumerate(counts)) + ')')
    _print_metrics(args, task, setup['label'], episode.trace)
    return 0


def _setup(args) -> dict:
    """Check the arguments and load what the episode needs; ValueError names a problem."""
    from predctl_ros import envs
    if args.checkpoint is not None and args.controller is not None:
        raise ValueError('--controller and --checkpoint exclude each other: the '
                         "checkpoint's policy drives the arm")
    if args.raster is not None and args.checkpoint is None:
        raise ValueError("--raster draws a spiking policy's spikes: give its --checkpoint")
    if args.every < 1:
        raise ValueError(f'--every must be >= 1, got {args.every}')
    setup = {'policy': None, 'options': {}, 'controller': args.controller or 'reference'}
    if args.checkpoint is None:
        task = args.task or 'panda_reach'
        setup['label'] = setup['controller']
    else:
        task = _load_policy(args, setup)
    spec = envs.task_spec(task, **setup['options'])
    steps = spec.episode_steps if args.steps is None else args.steps
    if not 1 <= steps <= spec.episode_steps:
        raise ValueError(f'--steps must be in [1, {spec.episode_steps}], got {args.steps}')
    total = steps * (len(args.goals) if args.goals else 1)
    if not -total - 1 <= args.png_step <= total:
        raise ValueError(f'--png-step must be in [-{total + 1}, {total}] (0 = the start, '
                         f'-1 = the last of the {total} control steps), got {args.png_step}')
    setup['start'] = None
    if args.goals:
        _check_goals(args.goals, task, spec)
        if args.episode is None:
            setup['start'] = _rest_pose(task)
    outputs = {name: getattr(args, name) for name in ('png', 'mp4', 'gif', 'raster')}
    if all(value is None for value in outputs.values()):
        outputs['png'] = f'{task}.png'
    setup.update(task=task, spec=spec, steps=steps, outputs=outputs)
    return setup


def _load_policy(args, setup) -> str:
    """Load the checkpoint's policy into setup; return its task."""
    from predctl_ros.learning.checkpoint_policy import load_policy, StepPolicy
    from predctl_ros.snn.checkpoint import CheckpointError
    from predctl_ros.snn.monitors import SpikeRecorder
    try:
        net, task, options = load_policy(args.checkpoint, args.task)
    except CheckpointError as exc:
        raise ValueError(str(exc)) from None
    recorder = None
    if args.raster is not None:
        if not hasattr(net, 'fan_out'):
            raise ValueError(f'{args.checkpoint}: its policy is a {net.spec.arch.upper()} '
                             'baseline, which has no spikes to draw; --raster needs a '
                             'spiking policy')
        recorder = SpikeRecorder(net)
    setup.update(policy=StepPolicy(net, monitor=recorder), options=options,
                 controller='policy', recorder=recorder, net=net,
                 label=f'policy {args.checkpoint}')
    return task


def _check_goals(goals, task, spec) -> None:
    units = 'x,y,z in metres' if task == 'panda_reach' else \
        f'x,y in units of {spec.goal_scale_m:g} m'
    for i, goal in enumerate(goals):
        text = ','.join(f'{v:g}' for v in goal)
        if len(goal) != spec.goal_size:
            raise ValueError(f'--goals: goal {i + 1} ({text}) has {len(goal)} values, {task} '
                             f'needs {spec.goal_size} ({units})')
        if task == 'panda_reach':
            from predctl_ros.control.workspace import GoalChecker
            try:
                GoalChecker().check(goal)
            except ValueError as exc:
                raise ValueError(f'--goals: {exc}') from None


def _rest_pose(task: str):
    """Return the start without a test pair: the simulated robot's, or the arm stretched."""
    import numpy as np
    if task == 'panda_reach':
        from predctl_ros.learning.chained import demo_start
        return demo_start()
    return np.zeros(2)


def _write_raster(args, setup, trace) -> list:
    from predctl_ros.snn.raster import plot_raster
    recorder, spec, net = setup['recorder'], setup['spec'], setup['net']
    where = (f'goals {", ".join("(" + ", ".join(f"{v:g}" for v in g) + ")" for g in args.goals)}'
             if args.goals else f'test episode {args.episode or 0}')
    unit = 'm' if spec.goal_scale_m == 1.0 else f'x {spec.goal_scale_m:g} m'
    return plot_raster(
        args.raster, [recorder.raster(i) for i in range(len(recorder.sizes))],
        dt_s=net.spec.dt_s, control_dt_s=spec.control_dt_s, actions=trace.actions,
        distance=trace.distance,
        goal_steps=[i * setup['steps'] for i in range(len(trace.goals))],
        success_threshold=spec.success_threshold, distance_unit=unit,
        title=f'{os.path.basename(args.checkpoint)} on {setup["task"]}, {where}')


def _print_metrics(args, task, label, trace) -> None:
    for i, (goal, metrics) in enumerate(zip(trace.goals, trace.metrics)):
        if args.goals:
            where = (f'goal {i + 1}/{len(trace.goals)} '
                     f'({", ".join(f"{v:.3f}" for v in goal)})')
        else:
            where = f'episode {args.episode or 0}'
        print(f'{task} {where} ({label}): final distance '
              f'{metrics["final_distance"]:.4f}, min {metrics["min_distance"]:.4f}, '
              f'success {metrics["success"]}, authors\' success {metrics["authors_success"]}')
