# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
`predctl render`: render a test-set episode of a task to PNG and/or MP4, offscreen.

Headless machines use MUJOCO_GL=egl unless MUJOCO_GL is set (see predctl_ros.envs.render).
"""

import os

from predctl_ros.commands import error

HELP = 'render a reaching episode (reference controller or zero torque) to PNG / MP4'


def add_arguments(parser):
    """
    Declare the arguments of `predctl render`.

    :param parser: the subcommand's parser.
    """
    parser.add_argument('--task', choices=('panda_reach', 'reach2d'), default='panda_reach')
    parser.add_argument('--controller', choices=('reference', 'zero'), default='reference',
                        help='who drives the arm: the reference controller or zero torque')
    parser.add_argument('--episode', type=int, default=0,
                        help='index into the fixed test set of the task')
    parser.add_argument('--steps', type=int, default=None,
                        help='control steps to run (default: the whole episode)')
    parser.add_argument('--png', metavar='FILE', help='write the frame at --png-step here')
    parser.add_argument('--png-step', type=int, default=-1,
                        help='control step of the PNG frame (0 = start, -1 = the last)')
    parser.add_argument('--mp4', metavar='FILE', help='write the episode as a video here')
    parser.add_argument('--width', type=int, default=640)
    parser.add_argument('--height', type=int, default=480)
    parser.add_argument('--every', type=int, default=1,
                        help='video: one frame every N control steps (50 Hz / N frames/s)')


def run(args) -> int:
    """
    Render the episode and write the requested files.

    :param args: parsed arguments.
    :return: 0 on success, 2 on bad arguments or when no OpenGL context is available.
    """
    if 'MUJOCO_GL' not in os.environ and not os.environ.get('DISPLAY'):
        os.environ['MUJOCO_GL'] = 'egl'
    from predctl_ros.envs import episodes, image_files, render

    png, mp4 = args.png, args.mp4
    if png is None and mp4 is None:
        png = f'{args.task}.png'
    try:
        episode = episodes.render_episode(
            args.task, controller=args.controller, episode=args.episode, steps=args.steps,
            width=args.width, height=args.height,
            every=None if mp4 is None else args.every,
            stills=() if png is None else (args.png_step,))
    except (ValueError, render.RenderError, episodes.EpisodeDiverged) as exc:
        return error(args, exc)
    if png is not None:
        image_files.save_png(png, episode.stills[0])
        print(f'wrote {png}')
    if mp4 is not None:
        image_files.save_mp4(mp4, episode.video, fps=50.0 / args.every)
        print(f'wrote {mp4} ({len(episode.video)} frames)')
    metrics = episode.trace.metrics[0]
    print(f'{args.task} episode {args.episode} ({args.controller}): final distance '
          f'{metrics["final_distance"]:.4f}, min {metrics["min_distance"]:.4f}, '
          f'success {metrics["success"]}, authors\' success {metrics["authors_success"]}')
    return 0
