# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Retrain the networks from recorded bags: fine-tune a checkpoint, or train from scratch.

``retrain_from_bags(paths, out, init=...)`` loads the bags with
:func:`predctl_ros.bags.load_bags` (a bag that fails is reported and the others are
used), holds every fifth recorded episode out, fills a replay buffer with the rest
(optionally together with simulated episodes of the task), then runs ``iterations``
cycles of the method's two training phases on it: the prediction network P on recorded
windows (:func:`prediction_loss`), the policy through P (:func:`policy_loss`).  No data
is collected in between: the recordings are the data.

The prediction error on the held-out recorded episodes is measured before and after with
the training loss (teacher forcing), every held-out step after the first warm-up scored
once (:func:`held_out_error`).  The new
checkpoint is written to ``out`` atomically, in the format of the shipped ones, only at
the very end: a run that fails or is stopped leaves ``out`` (and every other file) as it
was.  Nothing here imports ROS; the ``trainer_node`` and ``predctl train --bags`` are thin
adapters.
"""

import dataclasses
import os
from pathlib import Path
import time
from typing import Callable, List, NamedTuple, Optional, Sequence

import numpy as np
from predctl_ros import bags, envs
from predctl_ros.learning.config import TrainConfig
from predctl_ros.learning.objectives import ActivityReg, policy_loss, prediction_loss
from predctl_ros.learning.replay import Episode, ReplayBuffer
from predctl_ros.learning.train import (
    _step, build_networks, make_optimizer, rollout, set_input_normalisation, set_threads)
from predctl_ros.resources import ResourceNotFoundError, share_path
from predctl_ros.snn.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
import torch

SHIPPED = 'shipped'
"""``init`` value that names the shipped checkpoint of the task."""
SHIPPED_CHECKPOINTS = {'panda_reach': ('models', 'panda_reach_snn.safetensors')}
DEFAULT_TASK = 'panda_reach'
EVAL_BATCH = 256


class RetrainError(RuntimeError):
    """Retraining failed before the checkpoint was written; no file was changed."""

    def __init__(self, message: str, bag_errors: Sequence[bags.BagError] = ()):
        """
        Describe the failure.

        :param message: what went wrong.
        :param bag_errors: the bags that could not be used, if that is why.
        """
        super().__init__(message)
        self.bag_errors = list(bag_errors)


class RetrainResult(NamedTuple):
    """What a retraining run did."""

    output: Path
    """The checkpoint written."""
    task: str
    """Task id of the networks."""
    init: Optional[Path]
    """Checkpoint fine-tuned, or None when trained from scratch."""
    held_out_before: Optional[float]
    """Prediction MSE on the held-out recorded episodes before training (None: none held
    out)."""
    held_out_after: Optional[float]
    """The same after training."""
    train_episodes: int
    """Recorded episodes trained on."""
    train_steps: int
    """Recorded transitions trained on."""
    held_out_episodes: int
    """Recorded episodes held out."""
    held_out_steps: int
    """Recorded transitions held out."""
    simulated_steps: int
    """Simulated transitions added to the replay."""
    iterations: int
    """Training iterations run."""
    minibatches: int
    """Minibatches stepped (P and pi together)."""
    model_loss: Optional[float]
    """Mean prediction loss of the last iteration."""
    policy_distance: Optional[float]
    """Mean imagined squared goal distance of the last iteration."""
    summaries: List[bags.BagSummary]
    """One per bag used."""
    errors: List[bags.BagError]
    """One per bag that could not be used."""
    seconds: float
    """Wall time of the whole run."""

    def report(self) -> str:
        """
        Return a human-readable multi-line report.

        :return: text.
        """
        def fmt(value):
            return '-' if value is None else f'{value:.3e}'

        lines = [f'checkpoint: {self.output}',
                 f'task {self.task}, started from '
                 f'{self.init if self.init is not None else "scratch"}',
                 f'bags used: {len(self.summaries)}, failed: {len(self.errors)}']
        for s in self.summaries:
            lines.append(f'  {s.path}: {s.episodes} episodes, {s.steps} steps '
                         f'({s.duration_s:.1f} s, {s.storage}, goals from {s.goal_source}, '
                         f'{s.short_pieces} short pieces dropped)')
        for error in self.errors:
            lines.append(f'  failed: {error}')
        lines.append(f'recorded: {self.train_episodes} episodes / {self.train_steps} steps '
                     f'trained on, {self.held_out_episodes} / {self.held_out_steps} held out; '
                     f'simulated steps: {self.simulated_steps}')
        lines.append(f'{self.iterations} iterations, {self.minibatches} minibatches, '
                     f'{self.seconds:.1f} s')
        lines.append(f'held-out prediction error (MSE): before {fmt(self.held_out_before)}, '
                     f'after {fmt(self.held_out_after)}')
        return '\n'.join(lines)


def resolve_init(init, task: Optional[str] = None) -> Optional[Path]:
    """
    Return the checkpoint file an ``init`` value names.

    :param init: None or '' (from scratch), 'shipped' (the package's own checkpoint of the
        task), or a path.
    :param task: task id for 'shipped' (default panda_reach).
    :return: a path, or None for from scratch.
    :raises RetrainError: 'shipped' for a task without one, or it is not installed.
    """
    if init is None or str(init) == '':
        return None
    if str(init) == SHIPPED:
        task = task or DEFAULT_TASK
        if task not in SHIPPED_CHECKPOINTS:
            raise RetrainError(f'no shipped checkpoint for task {task!r}')
        try:
            return Path(share_path(*SHIPPED_CHECKPOINTS[task]))
        except ResourceNotFoundError as exc:
            raise RetrainError(f'init {SHIPPED!r}: {exc}') from None
    return Path(os.path.expanduser(str(init)))


def check_output(out) -> Path:
    """
    Check that the checkpoint can be written to ``out`` (it is replaced only at the end).

    :param out: destination file.
    :return: out as a Path.
    :raises RetrainError: out is a folder or its folder cannot be written.
    """
    out = Path(os.path.expanduser(str(out)))
    if not out.name or out.is_dir():
        raise RetrainError(f'{out}: output must be a file path, not a folder')
    if out.exists() and not out.is_file():
        raise RetrainError(f'{out}: output exists and is not a regular file')
    parent = out.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise RetrainError(f'{out}: cannot write in {parent}')
    return out


def _windows(episodes: Sequence[Episode], warmup: int, horizon: int):
    """Stack windows of warmup + horizon transitions every horizon steps, time-major."""
    obs, action = [], []
    steps = warmup + horizon
    for e in episodes:
        for t in range(0, e.length - steps + 1, horizon):
            obs.append(e.obs[t:t + steps + 1])
            action.append(e.action[t:t + steps])
    if not obs:
        return None, None
    return np.stack(obs, 1), np.stack(action, 1)


@torch.no_grad()
def held_out_error(model, episodes: Sequence[Episode], warmup: int, horizon: int,
                   device='cpu') -> Optional[float]:
    """
    Return the prediction loss on the episodes, each step after the first warm-up scored once.

    Windows of warm-up + horizon steps start every ``horizon`` steps, so their unrolled
    parts tile each episode from step ``warmup`` on (a tail shorter than the horizon is
    left out); the mean is over all scored steps.

    :param model: prediction network.
    :param episodes: recorded episodes.
    :param warmup: warm-up steps of each window (no loss).
    :param horizon: unrolled steps of each window (teacher forcing 1).
    :param device: torch device of the model.
    :return: the mean squared error, or None when no window fits.
    """
    obs, action = _windows(episodes, warmup, horizon)
    if obs is None:
        return None
    total, count = 0.0, 0
    for lo in range(0, obs.shape[1], EVAL_BATCH):
        o = torch.from_numpy(obs[:, lo:lo + EVAL_BATCH]).to(device)
        a = torch.from_numpy(action[:, lo:lo + EVAL_BATCH]).to(device)
        total += float(prediction_loss(model, o, a, warmup)) * o.shape[1]
        count += o.shape[1]
    return total / count


def _normalise_from(model, policy, episodes: Sequence[Episode]) -> None:
    """Set the input normalisation of fresh networks from recorded steps."""
    obs = np.concatenate([e.obs[:-1] for e in episodes])
    action = np.concatenate([e.action for e in episodes])
    goal = np.concatenate([e.goal for e in episodes])
    # One 1-step "episode" per recorded step, in the rollout layout train.py uses.
    set_input_normalisation(model, policy, {
        'obs': np.stack((obs, obs)), 'action': action[None], 'goal': goal})


def retrain_from_bags(paths: Sequence, out, *, init=None, task: Optional[str] = None,
                      iterations: int = 20, config: Optional[TrainConfig] = None,
                      convert: Optional[bags.ConvertOptions] = None,
                      goal_height: float = 0.4, held_out_every: int = 5,
                      simulated_episodes: int = 0,
                      log: Callable[[str], None] = print,
                      should_stop: Optional[Callable[[], bool]] = None) -> RetrainResult:
    """
    Train P on recorded transitions and pi through P; write a new checkpoint to ``out``.

    :param paths: bag folders, .mcap / .db3 files or folders of bags.
    :param out: checkpoint file to write (replaced atomically, and only on success).
    :param init: checkpoint to fine-tune (its networks and input normalisation), 'shipped'
        for the package's own, or None / '' to build fresh networks as ``train`` does.
    :param task: task id; default the init checkpoint's, else panda_reach.
    :param iterations: training iterations (each: ``config.model_batches`` minibatches for
        P, then ``config.policy_batches`` for pi).
    :param config: training settings (warmup, horizon, batch, minibatches, learning rates,
        networks for from-scratch, seed, device, threads); its task and iterations are
        ignored. Default: TrainConfig's defaults.
    :param convert: bag conversion options (default: ConvertOptions with ``goal_height``);
        their ``min_steps`` is set to warmup + horizon, the training window.
    :param goal_height: z of /goal_pose goals when ``convert`` is not given.
    :param held_out_every: every n-th recorded episode is held out for the error report.
    :param simulated_episodes: episodes of the simulated task collected once with the
        starting policy and added to the replay (0: recorded data only).
    :param log: progress line printer (e.g. a node's logger).
    :param should_stop: polled between minibatches; True aborts (nothing is written).
    :return: RetrainResult.
    :raises RetrainError: no usable episode, a bad init checkpoint, a task mismatch, a bad
        output path, or a stop request; ``out`` is left untouched.
    """
    t_start = time.perf_counter()
    if int(iterations) != iterations or iterations < 1:
        raise RetrainError(f'iterations must be an integer >= 1, got {iterations!r}')
    if simulated_episodes < 0:
        raise RetrainError(f'simulated_episodes must be >= 0, got {simulated_episodes!r}')
    out = check_output(out)
    cfg = config or TrainConfig()
    stop = should_stop or (lambda: False)

    # --- the starting point: a checkpoint to fine-tune, or fresh networks ---
    init_path = resolve_init(init, task)
    ckpt = None
    if init_path is not None:
        try:
            ckpt = load_checkpoint(init_path, map_location=cfg.device)
            model, policy = ckpt['prediction'], ckpt['policy']
        except CheckpointError as exc:
            raise RetrainError(f'init checkpoint: {exc}') from None
        if ckpt.task is None and task is None:
            raise RetrainError(f'{init_path}: checkpoint names no task; give the task')
        if task is not None and ckpt.task is not None and task != ckpt.task:
            raise RetrainError(f'{init_path}: checkpoint is for task {ckpt.task!r}, '
                               f'not {task!r}')
        task = ckpt.task or task
        task_options = dict(ckpt.task_options)
    else:
        task = task or DEFAULT_TASK
        task_options = dict(cfg.task_options)
    if task not in envs.TASK_IDS:
        raise RetrainError(f'unknown task {task!r} (one of {list(envs.TASK_IDS)})')
    try:
        cfg = dataclasses.replace(cfg, task=task, task_options=task_options)
    except ValueError as exc:
        raise RetrainError(str(exc)) from None
    set_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    spec = envs.task_spec(task, **task_options)
    if ckpt is None:
        model, policy = build_networks(cfg, spec)
    for name, net, n_in in (('prediction', model, spec.obs_size + spec.action_size),
                            ('policy', policy, spec.obs_size + spec.goal_size)):
        if net.spec.n_in != n_in:
            raise RetrainError(f'{init_path}: {name} network takes {net.spec.n_in} inputs, '
                               f'task {task} needs {n_in}')
    window = cfg.warmup + cfg.horizon

    # --- recorded episodes: load, hold some out, fill the replay ---
    convert = dataclasses.replace(convert or bags.ConvertOptions(goal_height=goal_height),
                                  min_steps=window)
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not paths:
        raise RetrainError('no bags given')
    log(f'reading {len(paths)} bag path(s) for task {task}')
    load = bags.load_bags(paths, envs.make_task(task, **task_options), convert)
    for summary in load.summaries:
        log(f'{summary.path}: {summary.episodes} episodes, {summary.steps} steps')
    for error in load.errors:
        log(f'skipped bag {error}')
    if not load.episodes:
        detail = '; '.join(str(e) for e in load.errors) or 'the paths hold no bags'
        raise RetrainError(f'no usable episode of >= {convert.min_steps} steps in the bags '
                           f'({detail})', load.errors)
    train_eps, held_out = bags.split_held_out(load.episodes, held_out_every)
    if not held_out:
        log('only one recorded episode: no held-out error can be reported')
    replay = ReplayBuffer(spec.obs_size, spec.action_size, spec.goal_size, cfg.replay_steps)
    train_steps = bags.fill_replay(replay, train_eps)
    held_out_steps = sum(e.length for e in held_out)
    if ckpt is None and cfg.normalise_inputs:
        _normalise_from(model, policy, train_eps)
    model.to(cfg.device)
    policy.to(cfg.device)

    simulated_steps = 0
    if simulated_episodes:
        env = envs.make_batched_env(task, simulated_episodes, episode_steps=cfg.episode_steps,
                                    num_threads=cfg.threads or None, **task_options)
        try:
            data = rollout(policy, env, seed=int(rng.integers(2 ** 31)), device=cfg.device)
        finally:
            env.close()
        keep = ~data['diverged']
        replay.add_batch(data['obs'][:, keep], data['action'][:, keep], data['goal'][keep])
        simulated_steps = int(keep.sum()) * data['action'].shape[0]
        log(f'added {simulated_steps} simulated steps')

    before = held_out_error(model, held_out, cfg.warmup, cfg.horizon, cfg.device)
    log(f'{train_steps} recorded steps to train on, {held_out_steps} held out; held-out '
        f'prediction error before: {before if before is None else format(before, ".3e")}')

    # --- train: P on recorded windows, then pi through the frozen P ---
    model_opt, policy_opt = make_optimizer(model, cfg), make_optimizer(policy, cfg)
    minibatches, model_loss, distance = 0, None, None
    activity = ActivityReg.from_config(cfg)

    def check_stop():
        if stop():
            raise RetrainError(f'stopped after {minibatches} minibatches; {out} not written')

    for iteration in range(iterations):
        t0 = time.perf_counter()
        model_losses, distances = [], []
        for _ in range(cfg.model_batches):
            check_stop()
            w = replay.sample(cfg.batch, window, rng)
            loss = prediction_loss(model, torch.from_numpy(w.obs).to(cfg.device),
                                   torch.from_numpy(w.action).to(cfg.device), cfg.warmup,
                                   cfg.teacher_forcing, activity=activity)
            _step(model_opt, model, loss, cfg.grad_clip)
            model_losses.append(loss.item())
            minibatches += 1
        model.requires_grad_(False)
        try:
            for _ in range(cfg.policy_batches):
                check_stop()
                w = replay.sample(cfg.batch, cfg.warmup + 1, rng)
                result = policy_loss(
                    policy, model, torch.from_numpy(w.obs).to(cfg.device),
                    torch.from_numpy(w.action).to(cfg.device),
                    torch.from_numpy(np.concatenate((w.goal, w.goal[-1:]))).to(cfg.device),
                    cfg.warmup, cfg.horizon, spec.ee_slice, cfg.action_magnitude,
                    cfg.action_smoothness, activity)
                _step(policy_opt, policy, result.total, cfg.grad_clip)
                distances.append(result.distance.item())
                minibatches += 1
        finally:
            model.requires_grad_(True)
        model_loss = float(np.mean(model_losses)) if model_losses else None
        distance = float(np.mean(distances)) if distances else None
        log(f'iteration {iteration + 1}/{iterations}  P loss '
            f'{"-" if model_loss is None else format(model_loss, ".2e")}  pi distance '
            f'{"-" if distance is None else format(distance, ".3f")}  '
            f'({time.perf_counter() - t0:.1f} s)')
    check_stop()
    after = held_out_error(model, held_out, cfg.warmup, cfg.horizon, cfg.device)

    # --- write the checkpoint (the only change to any file) ---
    extra = dict((ckpt.header.get('extra') or {}) if ckpt is not None else {})
    extra.update({
        'config': dataclasses.replace(cfg, iterations=iterations).to_dict(),
        'retrain': {'bags': [str(s.path) for s in load.summaries],
                    'init': None if init_path is None else str(init_path),
                    'iterations': iterations, 'train_steps': train_steps,
                    'held_out_steps': held_out_steps, 'simulated_steps': simulated_steps,
                    'held_out_before': before, 'held_out_after': after}})
    save_checkpoint(out, {'prediction': model, 'policy': policy}, task=task,
                    task_options=task_options,
                    normalisation=ckpt.normalisation if ckpt is not None else None,
                    extra=extra)
    log(f'held-out prediction error after: {after if after is None else format(after, ".3e")}'
        f'; wrote {out}')
    if before is not None and after is not None and after > before:
        log(f'warning: the held-out prediction error rose ({before:.3e} -> {after:.3e}); '
            'more data or iterations may be needed')
    return RetrainResult(
        output=out, task=task, init=init_path, held_out_before=before, held_out_after=after,
        train_episodes=len(train_eps), train_steps=train_steps,
        held_out_episodes=len(held_out), held_out_steps=held_out_steps,
        simulated_steps=simulated_steps, iterations=iterations, minibatches=minibatches,
        model_loss=model_loss, policy_distance=distance, summaries=list(load.summaries),
        errors=list(load.errors), seconds=time.perf_counter() - t_start)
