# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Pred-Control training: collect, train the forward model, train the policy through it.

``train(cfg, out_dir)`` runs the loop of the method and can be resumed: after
every iteration it writes, atomically, the networks (``model.safetensors``), the
optimiser and random-generator state (``state.pt``, tensors only) and the replay
(``replay.npz``); ``train(cfg, out_dir, resume=True)`` continues from there.

With ``imitation_iterations`` = K > 0 the first K iterations warm-start the policy
by imitation of a classical reference controller (DAgger): a fraction of the worlds,
falling linearly from all at the first iteration to none at iteration K, is driven
by the teacher and the rest by the policy; every visited state is labelled with the
teacher's action (kept in a second replay, ``expert.npz``) and the policy regresses
onto the labels.  The prediction network trains as usual meanwhile, and the
remaining iterations are the pure method.
Metrics go to ``metrics.csv``, TensorBoard (``tensorboard/``) and
``learning_curves.png``, one entry per iteration.
"""

import json
from pathlib import Path
import time
from typing import Callable, Optional

import numpy as np
from predctl_ros import envs
from predctl_ros.allocator import keep_freed_memory
from predctl_ros.atomic import atomic_path
from predctl_ros.learning import distributed
from predctl_ros.learning import health
from predctl_ros.learning import model_quality
from predctl_ros.learning.config import TrainConfig
from predctl_ros.learning.objectives import (
    ActivityReg, imitation_loss, policy_loss, prediction_loss)
from predctl_ros.learning.replay import ReplayBuffer
from predctl_ros.learning.run_log import RunLog
from predctl_ros.snn import build_network, policy_spec, prediction_spec
from predctl_ros.snn import init as snn_init
from predctl_ros.snn.checkpoint import save_checkpoint
import torch
from tqdm import tqdm

BASELINE_HIDDEN = {'gru': (500,), 'mlp': (500, 500)}
TEST_KEYS = ('episodes', 'median_final_distance', 'mean_final_distance', 'median_min_distance',
             'mean_integrated_distance', 'success_rate', 'authors_success_rate',
             'median_steps_to_target', 'velocity_limit_steps', 'velocity_limit_episode_rate')
MODEL_QUALITY_KEYS = ('one_step_error', 'one_step_vs_no_change', 'one_step_vs_still',
                      'free_run_ee_error', 'free_run_vs_still')
ACTION_EFFECT_KEYS = ('action_cosine', 'action_gain')
ACTION_EFFECT_STARTS = 16   # validation starts probed at each evaluation
WORLD_AXES = {'obs': 1, 'action': 1, 'label': 1, 'goal': 0, 'ee': 0, 'diverged': 0,
              'velocity_limited': 0}
"""Axis of the worlds in each array of a rollout (where the processes' shares join)."""


def set_threads(threads: int) -> None:
    """
    Limit torch and the numba kernels to a number of CPU threads.

    :param threads: thread count; 0 leaves the libraries' defaults.
    """
    if threads > 0:
        import numba

        torch.set_num_threads(threads)
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))


def build_networks(cfg: TrainConfig, spec) -> tuple:
    """
    Build the prediction and policy networks for a task.

    :param cfg: training config (its model/policy overrides).
    :param spec: the task's TaskSpec.
    :return: (model, policy) on cfg.device.
    """
    def overrides(section):
        values = dict(section)
        arch = values.get('arch', 'snn')
        if arch in BASELINE_HIDDEN and 'hidden' not in values:
            values['hidden'] = BASELINE_HIDDEN[arch]
        if 'hidden' in values:
            values['hidden'] = tuple(values['hidden'])
        return values

    model = build_network(prediction_spec(spec.obs_size, spec.action_size,
                                          **overrides(cfg.model)))
    policy = build_network(policy_spec(spec.obs_size, spec.goal_size, spec.action_size,
                                       **overrides(cfg.policy)))
    return model.to(cfg.device), policy.to(cfg.device)


def make_teacher(cfg: TrainConfig, task):
    """
    Build the reference controller the policy imitates, with the config's gains.

    :param cfg: training config (teacher, teacher_gains).
    :param task: the task of the collecting environment.
    :return: the controller.
    """
    return envs.reference_controller(cfg.task, task=task, kind=cfg.teacher, **cfg.teacher_gains)


def warm_start(model, policy, cfg: TrainConfig, device) -> None:
    """
    Load both networks from ``cfg.init_checkpoint`` (weights and input normalisation).

    :param model: prediction network built from cfg.
    :param policy: policy network built from cfg.
    :param cfg: training config.
    :param device: torch device.
    :raises ValueError: when the checkpoint's task, options or networks differ from cfg's.
    """
    from predctl_ros.snn.checkpoint import load_checkpoint

    path = cfg.init_checkpoint
    ckpt = load_checkpoint(path, map_location=device)
    problems = []
    if ckpt.task != cfg.task:
        problems.append(f'task {ckpt.task!r}, not {cfg.task!r}')
    if ckpt.task_options != cfg.task_options:
        problems.append(f'task options {ckpt.task_options}, not {cfg.task_options}')
    for name, net in (('prediction', model), ('policy', policy)):
        stored = ckpt.networks.get(name)
        if stored is None:
            problems.append(f'no {name} network')
        elif stored.spec != net.spec:
            problems.append(f'{name} network {stored.spec.to_dict()}, the config builds '
                            f'{net.spec.to_dict()}')
    if problems:
        raise ValueError(f'init_checkpoint {path}: ' + '; '.join(problems))
    load_networks(ckpt, model, policy)


def load_networks(ckpt, model, policy) -> None:
    """
    Copy a checkpoint's prediction and policy weights into built networks.

    :param ckpt: a loaded Checkpoint.
    :param model: prediction network of the same spec.
    :param policy: policy network of the same spec.
    """
    model.load_state_dict(ckpt['prediction'].state_dict())
    policy.load_state_dict(ckpt['policy'].state_dict())


def precision_context(cfg: TrainConfig, device) -> torch.autocast:
    """
    Return the autocast context of cfg.precision, entered around each loss's forward pass.

    The backward pass follows the dtypes the forward pass recorded.  The context can be
    entered again after it exits.

    :param cfg: training config.
    :param device: torch device of the networks.
    :return: torch.autocast, disabled for 'float32'.
    """
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16,
                          enabled=cfg.precision == 'bfloat16')


NORMALISATION_MIN_STD = 0.05
"""Floor of an observation's std in the input normalisation: at most 20x amplification."""


def set_input_normalisation(model, policy, data: dict) -> None:
    """
    Normalise the networks' observation and goal inputs over collected data.

    Actions never take statistics: they lie in [-1, 1] by construction, and an untrained
    policy's near-silent actions would otherwise set stds of ~1e-3 that amplify every later
    action ~1000x. Observation stds are floored at NORMALISATION_MIN_STD for the same reason
    (joint velocities of an arm that did not move). Networks without input normalisation
    (the non-spiking baselines) are left alone.

    :param model: prediction network, input (obs, action).
    :param policy: policy network, input (obs, goal).
    :param data: a rollout dict with obs [T + 1, N, obs], action [T, N, act], goal [N, goal].
    """
    obs = data['obs'][:-1].reshape(-1, data['obs'].shape[-1])
    n_act = data['action'].shape[-1]
    goal = data['goal']
    obs_mean, obs_std = obs.mean(0), np.maximum(obs.std(0), NORMALISATION_MIN_STD)
    goal_mean, goal_std = goal.mean(0), np.maximum(goal.std(0), NORMALISATION_MIN_STD)
    pairs = ((model, np.concatenate((obs_mean, np.zeros(n_act))),
              np.concatenate((obs_std, np.ones(n_act)))),
             (policy, np.concatenate((obs_mean, goal_mean)),
              np.concatenate((obs_std, goal_std))))
    for net, mean, std in pairs:
        if hasattr(net, 'set_input_normalisation'):
            net.set_input_normalisation(mean, std)


def calibrate_networks(model, policy, cfg: TrainConfig, rng: np.random.Generator,
                       device) -> dict:
    """
    Scale fresh spiking networks on the task's inputs so that they are active and explore.

    Inputs come from the task, never from a policy: rest observations and goals of
    ``cfg.envs`` random start/goal pairs for both networks, with uniform random actions
    in [-1, 1] (their known range) for P. Every process draws the same ones. Every hidden
    layer then fires at its spec's ``init_rate_hz`` and the policy's readout spreads by
    ``cfg.init_readout_std`` before tanh, as the authors' untrained policy does; P's
    readout keeps its small init.

    :param model: prediction network.
    :param policy: policy network.
    :param cfg: training config.
    :param rng: generator of the seeds and random actions.
    :param device: torch device.
    :return: {'prediction': ..., 'policy': ...} of :func:`snn_init.calibrate` (spiking only).
    """
    with envs.make_batched_env(cfg.task, cfg.envs, episode_steps=cfg.episode_steps,
                               num_threads=cfg.threads or None, **cfg.task_options) as env:
        obs, goal = env.reset(seed=int(rng.integers(2 ** 31)))
        action_size = env.task_spec.action_size
    steps = cfg.warmup + cfg.horizon
    held = (lambda a: torch.as_tensor(a, dtype=torch.float32, device=device)[None]
            .expand(steps, -1, -1))
    actions = rng.uniform(-1.0, 1.0, (steps, len(obs), action_size))
    inputs = {'prediction': (model, torch.cat((held(obs), torch.as_tensor(
                  actions, dtype=torch.float32, device=device)), -1), None),
              'policy': (policy, torch.cat((held(obs), held(goal)), -1), cfg.init_readout_std)}
    out = {}
    for name, (net, x, readout_std) in inputs.items():
        if getattr(net.spec, 'arch', None) == 'snn':
            out[name] = snn_init.calibrate(net, x, readout_std=readout_std)
    return out


def delta_weight(obs: np.ndarray, min_std: float = 1e-6) -> np.ndarray:
    """
    Return per-dimension weights of the prediction loss: inverse variance of the changes.

    Scaled so that predicting no change scores the same under the weighted loss as under
    the plain MSE (the mean variance).

    :param obs: observations [T + 1, N, n_obs] of collected episodes.
    :param min_std: floor of a dimension's standard deviation (constant dimensions).
    :return: float32 weights [n_obs].
    """
    var = np.maximum(np.diff(obs, axis=0).reshape(-1, obs.shape[-1]).std(0), min_std) ** 2
    return (var.mean() / var).astype(np.float32)


def make_optimizer(net, cfg: TrainConfig) -> torch.optim.Optimizer:
    """
    Return Adam with its own learning rate (and no weight decay) for time constants.

    :param net: network.
    :param cfg: training config.
    :return: the optimiser.
    """
    taus = [p for n, p in net.named_parameters() if 'log_tau' in n]
    weights = [p for n, p in net.named_parameters() if 'log_tau' not in n]
    groups = [{'params': weights, 'lr': cfg.lr, 'weight_decay': cfg.weight_decay}]
    if taus:
        groups.append({'params': taus, 'lr': cfg.lr_tau, 'weight_decay': 0.0})
    return torch.optim.Adam(groups)


@torch.no_grad()
def rollout(policy, env, *, seed=None, starts=None, goals=None, noise: float = 0.0,
            rng: Optional[np.random.Generator] = None, device='cpu', teacher=None,
            teacher_worlds: Optional[np.ndarray] = None, monitor=None,
            noise_worlds: Optional[tuple] = None, retarget: bool = False) -> dict:
    """
    Run the policy for one episode in every world of a batched environment.

    :param policy: policy network (sequence API, state carried step to step).
    :param env: BatchedReachEnv.
    :param seed: reset seed.
    :param starts: optional start configurations.
    :param goals: optional goals.
    :param noise: std of Gaussian action noise.
    :param rng: generator for the noise.
    :param device: torch device of the policy.
    :param teacher: optional reference controller; its action labels every step.
    :param teacher_worlds: bool [N], worlds driven by the teacher instead of the policy.
    :param monitor: optional ActivityMonitor of the (spiking) policy.
    :param noise_worlds: (first, total) when env holds worlds first .. first + N - 1 of
        `total` collected by several processes: the noise is drawn for all of them, so
        that a world's noise does not depend on the split.
    :param retarget: start from where the worlds are, toward ``goals``
        (``env.retarget``), instead of resetting them.
    :return: dict with obs [T + 1, N, obs], action [T, N, act] (as executed), goal [N, goal],
        ee [N, T, goal], diverged [N], velocity_limited [N, T] and, with a teacher, label
        [T, N, act].
    """
    if retarget:
        obs, goal = env.retarget(goals)
    else:
        obs, goal = env.reset(seed=seed, starts=starts, goals=goals)
    goal_t = torch.as_tensor(goal, dtype=torch.float32, device=device)
    steps = env.task_spec.episode_steps
    all_obs, actions, ee, labels, limited = [obs], [], [], [], []
    diverged = np.zeros(env.num_envs, dtype=bool)
    state = None
    for _ in range(steps):
        x = torch.cat((torch.as_tensor(obs, dtype=torch.float32, device=device), goal_t), -1)
        action, state = policy(x[None], state, monitor=monitor)
        action = action[0].cpu().numpy().astype(np.float64)
        if teacher is not None:
            label = teacher.batch(env.datas, env.goals)
            labels.append(label)
            if teacher_worlds is not None:
                action[teacher_worlds] = label[teacher_worlds]
        if noise:
            first, total = noise_worlds or (0, len(action))
            draw = rng.standard_normal((total, action.shape[1]))[first:first + len(action)]
            action = np.clip(action + noise * draw, -1.0, 1.0)
        obs, info = env.step(action)
        all_obs.append(obs)
        actions.append(action)
        ee.append(info['ee'])
        limited.append(info['velocity_limited'])
        diverged |= info['diverged']
    out = {'obs': np.stack(all_obs), 'action': np.stack(actions), 'goal': goal,
           'ee': np.stack(ee, axis=1), 'diverged': diverged,
           'velocity_limited': np.stack(limited, axis=1)}
    if teacher is not None:
        out['label'] = np.stack(labels)
    return out


def evaluate(policy, env, test, device='cpu', monitor=None, within=()) -> dict:
    """
    Return the summarised metrics of the policy on a fixed test set.

    :param policy: policy network.
    :param env: BatchedReachEnv with one world per test pair.
    :param test: TestSet.
    :param device: torch device of the policy.
    :param monitor: optional ActivityMonitor of the (spiking) policy.
    :param within: distances d (goal units); adds the fraction of episodes whose final
        distance is below each as 'final_within_<d>'.
    :return: summary dict of envs.summarize_metrics (and the fractions).
    """
    out = rollout(policy, env, starts=test.starts, goals=test.goals, device=device,
                  monitor=monitor)
    metrics = envs.episode_metrics(out['ee'], out['goal'], env.task_spec,
                                   velocity_limited=out['velocity_limited'])
    summary = envs.summarize_metrics(metrics)
    final = np.asarray(metrics['final_distance'])
    summary.update({f'final_within_{d:g}': float(np.mean(final < d)) for d in within})
    return summary


def _is_best(out: Path, summary: dict) -> bool:
    """
    Tell whether this iteration's policy beats the best one saved so far on validation.

    Better means a higher success rate, then a lower median final distance. Kept in
    best.json, so a resumed run goes on comparing with the run's best.

    :param out: run directory.
    :param summary: this iteration's metrics, with the val_* keys filled.
    :return: True when best.safetensors should be replaced.
    """
    path = out / 'best.json'
    if not path.exists():
        return True
    best = json.loads(path.read_text())
    score = (lambda m: (m['val_success_rate'], -m['val_median_final_distance']))
    return score(summary) > score(best)


def _fmt(value, spec: str) -> str:
    return '-' if value is None else format(value, spec)


def _step(optimizer, net, loss, clip) -> float:
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(net.parameters(), clip)
    optimizer.step()
    return float(norm)


def _local(window, part: slice):
    # This process's windows of a global minibatch (batch is axis 1 of every array).
    return type(window)(*(np.ascontiguousarray(a[:, part]) for a in window))


def train(cfg: TrainConfig, out_dir, resume: bool = False,
          log: Callable[[str], None] = print) -> dict:
    """
    Run (or resume) Pred-Control training and return the last metrics.

    :param cfg: training config.
    :param out_dir: run directory (checkpoint, state, replay, metrics).
    :param resume: continue from the state in out_dir.
    :param log: line printer.
    :return: dict of the last iteration's metrics.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ctx = distributed.setup(cfg.device, {'envs': cfg.envs, 'batch': cfg.batch})
    device = ctx.device
    precision = precision_context(cfg, device)
    worlds, part = ctx.share(cfg.envs, 'envs'), ctx.share(cfg.batch, 'batch')
    log = log if ctx.main else (lambda line: None)
    set_threads(cfg.threads)
    keep_freed_memory()
    threads = cfg.threads or None

    # --- seeding and environments ---
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    spec = envs.task_spec(cfg.task, **cfg.task_options)
    if cfg.position_limit and spec.position_slice is None:
        raise ValueError(f'position_limit: task {cfg.task!r} does not observe its joint '
                         'angles scaled to the soft limits')
    env = envs.make_batched_env(cfg.task, worlds.stop - worlds.start,
                                episode_steps=cfg.episode_steps,
                                num_threads=threads, **cfg.task_options)
    # Validation pairs score the run as it goes (what to choose by); the test pairs only
    # its end, for the report.
    validation, test = envs.validation_set(cfg.task), envs.test_set(cfg.task)
    validation_env = test_env = effect_env = None   # rank 0 alone evaluates
    if ctx.main:
        validation_env, test_env = (
            envs.make_batched_env(cfg.task, len(pairs), episode_steps=spec.episode_steps,
                                  num_threads=threads, **cfg.task_options)
            for pairs in (validation, test))
        effect_env = envs.make_batched_env(
            cfg.task, ACTION_EFFECT_STARTS * (1 + 2 * spec.action_size),
            episode_steps=spec.episode_steps, num_threads=threads, **cfg.task_options)
    teacher = make_teacher(cfg, env.task) if cfg.imitation_iterations else None

    # --- networks, optimisers, replay ---
    model, policy = build_networks(cfg, spec)
    if cfg.init_checkpoint:
        warm_start(model, policy, cfg, device)
    model_opt, policy_opt = make_optimizer(model, cfg), make_optimizer(policy, cfg)
    replay = ReplayBuffer(spec.obs_size, spec.action_size, spec.goal_size, cfg.replay_steps)
    expert = ReplayBuffer(spec.obs_size, spec.action_size, spec.goal_size, cfg.replay_steps)
    weight = None   # of the prediction loss, set from the first collection
    start_iteration = 0
    if resume and (out / 'state.pt').exists():
        from predctl_ros.snn.checkpoint import load_checkpoint
        ckpt = load_checkpoint(out / 'model.safetensors', map_location=device)
        load_networks(ckpt, model, policy)
        state = torch.load(out / 'state.pt', weights_only=True)
        model_opt.load_state_dict(state['model_opt'])
        policy_opt.load_state_dict(state['policy_opt'])
        torch.set_rng_state(state['torch_rng'])
        rng.bit_generator.state = json.loads(state['numpy_rng'])
        start_iteration = int(state['iteration'])
        weight = state.get('delta_weight')
        replay = ReplayBuffer.load(out / 'replay.npz', cfg.replay_steps)
        if (out / 'expert.npz').exists():
            expert = ReplayBuffer.load(out / 'expert.npz', cfg.replay_steps)
        log(f'resumed {out} at iteration {start_iteration}')
    ctx.agree(start_iteration, 'the iteration to resume from')
    if start_iteration == 0 and ctx.main:   # a fresh run: an older run's best is no rival
        for name in ('best.json', 'best.safetensors'):
            (out / name).unlink(missing_ok=True)
    if start_iteration == 0 and cfg.calibrate_init and not cfg.init_checkpoint:
        for name, result in calibrate_networks(model, policy, cfg, rng, device).items():
            log(f'calibrated {name}: hidden rates '
                f"{', '.join(f'{r:.0f}' for r in result['rates_hz'])} Hz, weight scales "
                f"{', '.join(f'{s:.2f}' for s in result['scales'])}")
    # The networks the losses train (DDP around them on several processes); the frozen
    # model in the policy loss is called unwrapped, having no gradients to average.
    model_fit, policy_fit = ctx.wrap(model), ctx.wrap(policy)
    run_log = None
    if ctx.main:
        (out / 'config.json').write_text(json.dumps(cfg.to_dict(), indent=2, sort_keys=True))
        run_log = RunLog(out, cfg.to_dict(), resume=start_iteration > 0)
    ee = spec.ee_slice
    velocity_dims = [i for i, label in enumerate(spec.obs_labels) if label.startswith('qd')]
    window = cfg.warmup + cfg.horizon
    activity = ActivityReg.from_config(cfg)
    summary = {}

    progress = tqdm(total=cfg.iterations, initial=start_iteration, unit='it', desc=cfg.task,
                    disable=None if ctx.main else True)   # None: shown on a terminal only
    for iteration in range(start_iteration, cfg.iterations):
        t0 = time.perf_counter()
        decay = cfg.lr_decay ** iteration
        for opt in (model_opt, policy_opt):
            for group, base in zip(opt.param_groups, (cfg.lr, cfg.lr_tau)):
                group['lr'] = base * decay

        # --- collect one episode per world with the current policy (and teacher) ---
        imitate = iteration < cfg.imitation_iterations
        mix = {}
        if imitate:
            share = cfg.teacher_share * (1.0 - iteration / cfg.imitation_iterations)
            teacher_worlds = rng.random(cfg.envs) < share
            mix = {'teacher': teacher, 'teacher_worlds': teacher_worlds[worlds]}
        # World i is seeded seed + i whichever process collects it.
        data = rollout(policy, env, seed=int(rng.integers(2 ** 31)) + worlds.start,
                       noise=cfg.action_noise * cfg.action_noise_decay ** iteration, rng=rng,
                       device=device, noise_worlds=(worlds.start, cfg.envs), **mix)
        data = ctx.gather(data, WORLD_AXES)
        # The last heldout_envs worlds never enter the replay: P is measured on them.
        keep = ~data['diverged']
        heldout = keep.copy()
        heldout[:cfg.envs - cfg.heldout_envs] = False
        keep[cfg.envs - cfg.heldout_envs:] = False
        replay.add_batch(data['obs'][:, keep], data['action'][:, keep], data['goal'][keep])
        if imitate:
            expert.add_batch(data['obs'][:, keep], data['label'][:, keep], data['goal'][keep])
        if iteration == 0 and cfg.normalise_inputs and not cfg.init_checkpoint:
            set_input_normalisation(model, policy, data)
        if weight is None and cfg.normalise_deltas:
            weight = torch.from_numpy(delta_weight(data['obs'][:, keep]))
        t_collect = time.perf_counter() - t0

        # --- train the prediction network on replayed windows ---
        model_losses = []
        norms = {'model': [], 'policy': []}   # pre-clip gradient norm of every step
        generator = ctx.generator(cfg.seed, iteration)
        for _ in range(cfg.model_batches):
            w = _local(replay.sample(cfg.batch, window, rng), part)
            obs = torch.from_numpy(w.obs).to(device)
            act = torch.from_numpy(w.action).to(device)
            with precision:
                loss = prediction_loss(model_fit, obs, act, cfg.warmup, cfg.teacher_forcing,
                                       weight=None if weight is None else weight.to(device),
                                       activity=activity, generator=generator)
            norms['model'].append(_step(model_opt, model, loss, cfg.grad_clip))
            model_losses.append(loss.item())
        t_model = time.perf_counter() - t0 - t_collect

        # --- P's quality on held-out episodes of this policy, and the gate ---
        quality, imagined, real = {}, None, None
        if heldout.any():
            held = model_quality.episode_windows(
                data['obs'][:, heldout], data['action'][:, heldout], data['goal'][heldout],
                window, cfg.horizon)
            with precision:
                quality = {k: ctx.average(v) for k, v in model_quality.prediction_quality(
                    model, held, cfg.warmup, cfg.horizon, ee, velocity_dims).items()}
                imagined, real = (ctx.average(v) for v in
                                  model_quality.imagined_and_real_distance(
                                      policy, model, held, cfg.warmup, cfg.horizon, ee))
        gated = (cfg.gate_policy and not imitate
                 and not quality.get('free_run_vs_still', 0.0) < 1.0)

        # --- imitation: regress the policy onto the teacher's labels ---
        policy_losses, imitation_losses, speed_terms, position_terms = [], [], [], []
        for _ in range(cfg.imitation_batches if imitate else 0):
            w = _local(expert.sample(cfg.batch, window, rng), part)
            with precision:
                loss = imitation_loss(policy_fit, torch.from_numpy(w.obs).to(device),
                                      torch.from_numpy(w.goal).to(device),
                                      torch.from_numpy(w.action).to(device), cfg.warmup,
                                      cfg.action_magnitude, cfg.action_smoothness,
                                      activity)
            norms['policy'].append(_step(policy_opt, policy, loss, cfg.grad_clip))
            imitation_losses.append(loss.item())

        # --- train the policy through the frozen prediction network ---
        model.requires_grad_(False)
        for _ in range(0 if imitate or gated else cfg.policy_batches):
            w = _local(replay.sample(cfg.batch, cfg.warmup + 1, rng), part)
            with precision:
                out_loss = policy_loss(
                    policy_fit, model, torch.from_numpy(w.obs).to(device),
                    torch.from_numpy(w.action).to(device),
                    torch.from_numpy(np.concatenate((w.goal, w.goal[-1:]))).to(device),
                    cfg.warmup, cfg.horizon, ee, cfg.action_magnitude, cfg.action_smoothness,
                    activity, distance_loss=cfg.distance_loss,
                    distance_softening=cfg.distance_softening, speed_weight=cfg.speed_limit,
                    speed_slice=spec.speed_slice, speed_margin=cfg.speed_margin,
                    position_weight=cfg.position_limit, position_slice=spec.position_slice)
            norms['policy'].append(_step(policy_opt, policy, out_loss.total, cfg.grad_clip))
            policy_losses.append(out_loss.distance.item())
            if cfg.speed_limit:
                speed_terms.append(out_loss.speed.item())
            if cfg.position_limit:
                position_terms.append(out_loss.position.item())
        model.requires_grad_(True)
        t_policy = time.perf_counter() - t0 - t_collect - t_model

        # --- evaluate, log, checkpoint ---
        # Over all ranks' windows, as one process over the global minibatch would log.
        mean = (lambda values: ctx.average(float(np.mean(values))) if values else None)
        summary = {'iteration': iteration + 1, 'env_steps': (iteration + 1) * cfg.envs *
                   cfg.episode_steps, 'model_loss': mean(model_losses),
                   'policy_distance': mean(policy_losses),
                   # The limit terms unweighted (empty when off): a policy pushed against
                   # its joints' stops or speed limits in imagination shows here.
                   'policy_speed_excess': mean(speed_terms),
                   'policy_position_excess': mean(position_terms),
                   'imitation_loss': mean(imitation_losses),
                   'policy_gated': gated, 'imagined_distance': imagined,
                   'real_distance': real,
                   'collect_velocity_limit_rate': float(data['velocity_limited'].mean()),
                   'collect_s': t_collect, 'model_s': t_model, 'policy_s': t_policy}
        summary.update({f'P_{k}': quality.get(k)
                        for k in MODEL_QUALITY_KEYS + ACTION_EFFECT_KEYS})
        summary.update(health.gradient_columns(norms, cfg.grad_clip))
        summary.update(health.activity_columns(model, policy, held if heldout.any() else None))
        for split in ('val', 'test'):   # the same CSV columns in every row
            summary.update({f'{split}_{k}': None for k in TEST_KEYS})
        last = iteration + 1 == cfg.iterations
        if ctx.main and ((iteration + 1) % cfg.eval_every == 0 or last):
            summary.update({f'val_{k}': v for k, v in
                            evaluate(policy, validation_env, validation, device).items()})
            with precision:
                summary.update({f'P_{k}': v for k, v in model_quality.action_effect(
                    model, effect_env, validation.starts[:ACTION_EFFECT_STARTS],
                    validation.goals[:ACTION_EFFECT_STARTS], ee, cfg.warmup).items()})
            run_log.histograms(health.time_constants_ms({'model': model, 'policy': policy}),
                               summary['env_steps'])
        if ctx.main and last:
            summary.update({f'test_{k}': v for k, v in
                            evaluate(policy, test_env, test, device).items()})
        progress.update()
        pi_loss = summary['imitation_loss' if imitate else 'policy_distance']
        progress.set_postfix(P=_fmt(summary['model_loss'], '.1e'), pi=_fmt(pi_loss, '.3f'))
        if not ctx.main:
            continue
        run_log.write(summary)
        networks = {'prediction': model, 'policy': policy}
        extra = {'iteration': iteration + 1, 'config': cfg.to_dict()}
        save_checkpoint(out / 'model.safetensors', networks, task=cfg.task,
                        task_options=cfg.task_options, extra=extra)
        if summary['val_episodes'] is not None and _is_best(out, summary):
            save_checkpoint(out / 'best.safetensors', networks, task=cfg.task,
                            task_options=cfg.task_options, extra=extra)
            with atomic_path(out / 'best.json') as tmp:
                tmp.write_text(json.dumps({k: summary[k] for k in (
                    'iteration', 'val_success_rate', 'val_median_final_distance')}))
        replay.save(out / 'replay.npz')
        if cfg.imitation_iterations:
            expert.save(out / 'expert.npz')
        with atomic_path(out / 'state.pt') as tmp:
            torch.save({'model_opt': model_opt.state_dict(), 'delta_weight': weight,
                        'policy_opt': policy_opt.state_dict(),
                        'torch_rng': torch.get_rng_state(),
                        'numpy_rng': json.dumps(rng.bit_generator.state),
                        'iteration': iteration + 1}, tmp)
        test_note = ''.join(
            f"  {name}: median final distance {summary[f'{split}_median_final_distance']:.3f}, "
            f"success {summary[f'{split}_success_rate']:.0%}"
            for split, name in (('val', 'validation'), ('test', 'test'))
            if summary[f'{split}_median_final_distance'] is not None)
        pi_name = 'pi imitation' if imitate else 'pi distance'
        if gated:
            pi_name, pi_loss = 'pi gated (P not yet better than standing still)', None
        log(f'iteration {iteration + 1}/{cfg.iterations}  P loss '
            f"{_fmt(summary['model_loss'], '.2e')}, free run vs still "
            f"{_fmt(summary['P_free_run_vs_still'], '.2f')}, one step vs no change "
            f"{_fmt(summary['P_one_step_vs_no_change'], '.2f')}  {pi_name} "
            f"{_fmt(pi_loss, '.3f')}  imagined / real distance {_fmt(imagined, '.3f')} / "
            f"{_fmt(real, '.3f')}{test_note}  ({time.perf_counter() - t0:.1f} s)")
    env.close()
    progress.close()
    if ctx.main:
        validation_env.close()
        effect_env.close()
        test_env.close()
        run_log.close()
    ctx.close()
    return summary
