# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Training configuration: one frozen dataclass, loaded from YAML, overridable from the CLI.

``load_config('config/train_reach2d.yaml', ['iterations=5', 'policy.neuron=lif'])``
reads the file, applies ``key=value`` overrides (dotted keys reach into the
network overrides ``model`` and ``policy``, into ``task_options`` and ``teacher_gains``),
converts each value to the field's type and refuses unknown keys or bad values with one
line naming the key, the value, where it came from and what is allowed.
:func:`preflight` then checks what only building the task and networks can tell, before a
run writes anything; :func:`describe_settings` lists every setting, its default and its
meaning, taken from the docstrings under the fields.
"""

import ast
import dataclasses
from dataclasses import dataclass, field
import functools
import inspect
import json
import os
from pathlib import Path
import re
import textwrap
import typing
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import yaml

TEACHERS = ('osc', 'joint_pd')
PRECISIONS = ('float32', 'bfloat16')
DISTANCE_LOSSES = ('squared', 'euclidean')
SECTIONS = ('model', 'policy', 'task_options', 'teacher_gains')
# Set by the task and the role of each network, never by the config.
NETWORK_FIXED = ('role', 'n_in', 'n_out')


@dataclass(frozen=True)
class TrainConfig:
    """Settings of one Pred-Control training run (defaults: the authors' settings)."""

    task: str = 'reach2d'
    """Task id: 'reach2d' or 'panda_reach'."""
    seed: int = 0
    """Seed for torch, numpy and the environments."""
    iterations: int = 100
    """Collect / train-P / train-pi / evaluate cycles."""
    envs: int = 64
    """Episodes collected side by side per iteration."""
    episode_steps: int = 200
    """Control steps per collected episode."""
    warmup: int = 5
    """Control steps that set the network state before any loss."""
    horizon: int = 40
    """Unrolled (P) and imagined (pi) control steps."""
    batch: int = 256
    """Windows per minibatch."""
    model_batches: int = 25
    """Minibatches for the prediction network per iteration."""
    policy_batches: int = 25
    """Minibatches for the policy per iteration."""
    teacher_forcing: float = 1.0
    """Probability of feeding the true state during the prediction unroll."""
    normalise_deltas: bool = False
    """Weight each state dimension of the prediction loss by the inverse variance of its
    change per step in the first collection (False: plain MSE, the authors' setting)."""
    lr: float = 1e-3
    """Adam learning rate of weights."""
    lr_tau: float = 1e-2
    """Adam learning rate of the log time constants."""
    lr_decay: float = 1.0
    """Multiplicative learning-rate decay per iteration (1 = constant)."""
    grad_clip: float = 30.0
    """Gradient-norm clip."""
    weight_decay: float = 0.0
    """L2 weight decay (not on time constants)."""
    action_noise: float = 0.0
    """Std of Gaussian noise added to the policy's actions during collection."""
    action_noise_decay: float = 1.0
    """Multiplicative decay of action_noise per iteration (1 = constant)."""
    distance_loss: str = 'squared'
    """How the policy loss scores the imagined end effector's distance d to the goal:
    'squared' (d^2, the authors') or 'euclidean' (sqrt(d^2 + s^2) - s, s the
    distance_softening). Squared distance barely weighs the last few centimetres against
    windows far from the goal; Euclidean weighs every centimetre alike."""
    distance_softening: float = 0.01
    """s of the 'euclidean' distance loss, goal units: below it the loss is about
    d^2 / (2 s), so its gradient stays finite at the goal."""
    action_magnitude: float = 0.0
    """Weight of the mean squared action in the policy loss."""
    action_smoothness: float = 0.0
    """Weight of the mean squared action change in the policy loss."""
    speed_limit: float = 0.0
    """Weight of the imagined joint-speed penalty in the policy loss: mean over imagined
    steps and samples of the sum over joints of max(0, |qd| / qd_max - speed_margin)^2.
    Not the authors'; a policy for the real robot must stay under the velocity limits,
    where the robot stops with a reflex. Needs velocities in the observation."""
    speed_margin: float = 0.9
    """Fraction of each joint's velocity limit where the speed penalty starts."""
    position_limit: float = 0.0
    """Weight of the imagined joint-angle penalty in the policy loss: mean over imagined
    steps and samples of the sum over joints of max(0, |q_s| - 1)^2, q_s the angle scaled
    so that +-1 are the soft limits (80 % of the range, where all goals lie). Not the
    authors'; keeps the policy off the joint stops, where P's errors are largest and the
    real robot stops with a reflex. Needs a task that observes its joint angles (Panda)."""
    rate_reg: float = 0.0
    """Weight of the firing-rate upper-bound penalty of the network being trained (P in
    its loss, pi in the policy and imitation losses): mean over samples and hidden neurons
    of max(0, r / rate_max_hz - 1)^2, r a neuron's rate over the window (0 = off)."""
    rate_max_hz: float = 100.0
    """Upper bound of each neuron's firing rate over a training window, Hz."""
    membrane_reg: float = 0.0
    """Weight of the membrane lower-bound penalty: mean over SNN steps, samples and hidden
    neurons of max(0, membrane_min - v / theta_0)^2, v the pre-reset membrane (0 = off)."""
    membrane_min: float = -1.0
    """Lower bound of the membrane potential in units of the base threshold (< 1)."""
    normalise_inputs: bool = False
    """Normalise each spiking network's observation and goal inputs by the first collected
    episodes (actions never: they lie in [-1, 1]). False feeds inputs raw, times the learnable
    input scale, as the authors do."""
    calibrate_init: bool = True
    """Scale fresh spiking networks on the task's rest observations (and random actions for
    P) so that every hidden layer fires at its init_rate_hz and the untrained policy explores
    (see init_readout_std)."""
    init_readout_std: float = 0.5
    """Spread of the untrained spiking policy's readout before tanh, set by calibrate_init
    (the authors' readout init: a membrane spread of about 1, times 0.5)."""
    heldout_share: float = 0.125
    """Share of each collection's worlds (rounded down) kept out of the replay: P's
    one-step and free-run errors and the imagined against the real distance are measured on
    them every iteration (none held out: nothing measured, the policy gate stays open)."""
    gate_policy: bool = True
    """Train the policy through P only in iterations where P's free-run end-effector error
    on the held-out episodes beats the arm standing still."""

    @property
    def heldout_envs(self) -> int:
        """Worlds of each collection held out of the replay."""
        return int(self.envs * self.heldout_share)
    replay_steps: int = 2_000_000
    """Most transitions kept in replay."""
    eval_every: int = 1
    """Evaluate on the fixed validation set every this many iterations (the test set is
    scored once, after the last iteration)."""
    device: str = 'cpu'
    """Torch device of the networks ('cpu', 'cuda', ...)."""
    precision: str = 'float32'
    """Precision of the training products whose inputs are spikes: 'bfloat16' runs them
    under torch.autocast (feed-forward currents of the spiking layers after the first, and
    the weight gradients), while neuron states, analog inputs and readouts stay float32.
    Faster where the hardware multiplies bfloat16 natively (AMX or AVX512-BF16 CPUs, GPUs)."""
    threads: int = 0
    """CPU threads of torch, the numba kernels and the simulator (0 = their defaults)."""
    imitation_iterations: int = 0
    """Leading iterations that train the policy by imitation of a teacher (DAgger), not
    through the prediction network (0 = the pure method)."""
    teacher: str = 'osc'
    """Reference controller imitated: 'osc' (Markovian) or 'joint_pd' (IK, then joint PD)."""
    imitation_batches: int = 25
    """Policy minibatches of imitation per imitation iteration."""
    teacher_share: float = 1.0
    """Share of the collecting worlds the teacher drives in the first imitation iteration;
    it falls linearly to 0 over `imitation_iterations`."""
    teacher_gains: dict = field(default_factory=dict)
    """Overrides of the teacher's gains (e.g. kp, kd of 'osc'); a stiffer teacher turns
    the same imitation error into a smaller position error."""
    init_checkpoint: str = ''
    """Start both networks (weights and input normalisation) from this checkpoint: a
    further training stage of a finished run. Its task, task options and network specs
    must match the config's."""
    task_options: dict = field(default_factory=dict)
    """Options of the task (e.g. velocities: true); stored in the checkpoint header."""
    model: dict = field(default_factory=dict)
    """NetworkSpec overrides of the prediction network (e.g. rank, neuron, arch)."""
    policy: dict = field(default_factory=dict)
    """NetworkSpec overrides of the policy network."""

    def __post_init__(self):
        """Refuse values of the wrong type, unknown sub-settings and out-of-range values."""
        problems = setting_problems({f.name: getattr(self, f.name)
                                     for f in dataclasses.fields(self)})
        if problems:
            # The range checks below would compare strings with numbers.
            raise ValueError('invalid training config: ' + '; '.join(m for _, m in problems))
        errors = []
        positive = ('iterations', 'envs', 'episode_steps', 'horizon', 'batch', 'replay_steps',
                    'eval_every')
        if self.precision not in PRECISIONS:
            errors.append(f'precision must be one of {PRECISIONS}, got {self.precision!r}')
        if self.distance_loss not in DISTANCE_LOSSES:
            errors.append(f'distance_loss must be one of {DISTANCE_LOSSES}, got '
                          f'{self.distance_loss!r}')
        if not 0.0 < self.distance_softening < float('inf'):
            errors.append(f'distance_softening must be > 0 and finite, got '
                          f'{self.distance_softening}')
        if self.teacher not in TEACHERS:
            errors.append(f'teacher must be one of {TEACHERS}, got {self.teacher!r}')
        for name in positive:
            if getattr(self, name) < 1:
                errors.append(f'{name} must be >= 1, got {getattr(self, name)}')
        for name in ('warmup', 'model_batches', 'policy_batches', 'weight_decay', 'threads',
                     'imitation_iterations', 'imitation_batches', 'action_noise',
                     'action_magnitude', 'action_smoothness', 'speed_limit',
                     'position_limit', 'rate_reg', 'membrane_reg'):
            if not getattr(self, name) >= 0:   # NaN fails too
                errors.append(f'{name} must be >= 0, got {getattr(self, name)}')
        if not 0.0 < self.speed_margin <= 1.0:
            errors.append(f'speed_margin must be in (0, 1], got {self.speed_margin}')
        if self.speed_limit > 0 and not self.task_options.get('velocities'):
            errors.append('speed_limit needs the joint speeds in the observation: set '
                          'task_options.velocities: true')
        if not 0.0 < self.rate_max_hz < float('inf'):
            errors.append(f'rate_max_hz must be > 0 and finite, got {self.rate_max_hz}')
        if not -float('inf') < self.membrane_min < 1.0:
            errors.append(f'membrane_min must be finite and below the threshold (1), got '
                          f'{self.membrane_min}')
        for name in ('lr', 'lr_tau', 'grad_clip'):
            if not getattr(self, name) > 0:
                errors.append(f'{name} must be > 0, got {getattr(self, name)}')
        if not 0.0 <= self.teacher_share <= 1.0:
            errors.append(f'teacher_share must be in [0, 1], got {self.teacher_share}')
        for name, value in self.teacher_gains.items():
            if not (isinstance(value, (int, float)) and 0.0 <= value < float('inf')):
                errors.append(f'teacher_gains.{name} must be a finite number >= 0, got '
                              f'{value!r}')
        if not 0.0 <= self.teacher_forcing <= 1.0:
            errors.append(f'teacher_forcing must be in [0, 1], got {self.teacher_forcing}')
        if not 0.0 < self.action_noise_decay <= 1.0:
            errors.append(f'action_noise_decay must be in (0, 1], got {self.action_noise_decay}')
        if not self.init_readout_std > 0:
            errors.append(f'init_readout_std must be > 0, got {self.init_readout_std}')
        if not 0.0 <= self.heldout_share < 1.0:
            errors.append(f'heldout_share must be in [0, 1), got {self.heldout_share}')
        if not 0.0 < self.lr_decay <= 1.0:
            errors.append(f'lr_decay must be in (0, 1], got {self.lr_decay}')
        if self.warmup + self.horizon > self.episode_steps:
            errors.append(f'warmup + horizon ({self.warmup + self.horizon}) exceeds '
                          f'episode_steps ({self.episode_steps})')
        if errors:
            raise ValueError('invalid training config: ' + '; '.join(errors))

    def to_dict(self) -> dict:
        """
        Return the config as plain data.

        :return: dict.
        """
        return dataclasses.asdict(self)


class Setting(NamedTuple):
    """One setting a config accepts."""

    kind: object
    """Type annotation of its value (None: any value)."""
    default: object
    """Value when the config does not set it."""
    meaning: str
    """One-line description, from the docstring under the field or the ':param' entry."""


# YAML 1.1 (PyYAML) reads 1e-3 as a string, YAML 1.2 as a number; a learning rate
# written that way would otherwise be refused as the wrong type.
_FLOAT = re.compile(r'^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$')


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_implicit_resolver('tag:yaml.org,2002:float', _FLOAT, list('-+0123456789'))

_NAMES = {bool: ('true or false', 'true/false values'), int: ('an integer', 'integers'),
          float: ('a number', 'numbers'), str: ('a string', 'strings'),
          dict: ('a mapping', 'mappings'), type(None): ('null', 'nulls')}
_TRUE, _FALSE = ('1', 'true', 'yes', 'on'), ('0', 'false', 'no', 'off')


def _one_line(text) -> str:
    return ' '.join(str(text).split())


def _show(value) -> str:
    # As the value would be written in a YAML config.
    if isinstance(value, str):
        return value if value else "''"
    return json.dumps(list(value) if isinstance(value, tuple) else value)


@functools.lru_cache(maxsize=None)
def attribute_docs(cls) -> Dict[str, str]:
    """
    Return the docstrings written under the fields of a class, by field name.

    :param cls: a class whose fields each carry a docstring on the next line.
    :return: {field: one-line docstring}; empty when the source is not installed.
    """
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    body = ast.parse(source).body[0].body
    docs = {}
    for target, doc in zip(body, body[1:]):
        if (isinstance(target, ast.AnnAssign) and isinstance(target.target, ast.Name)
                and isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant)
                and isinstance(doc.value.value, str)):
            docs[target.target.id] = _one_line(doc.value.value)
    return docs


def _param_docs(function) -> Dict[str, str]:
    docs, name = {}, None
    for line in (inspect.getdoc(function) or '').splitlines():
        line = line.strip()
        match = re.match(r':param (\w+):\s*(.*)', line)
        if match:
            name = match[1]
            docs[name] = match[2]
        elif name and line and not line.startswith(':'):
            docs[name] += ' ' + line
        else:
            name = None
    return docs


def _keyword_settings(cls, skip=()) -> Dict[str, Setting]:
    # Keyword-only arguments of cls(...), following **kwargs into the base classes.
    out = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get('__init__')
        if init is None:
            continue
        hints, docs = typing.get_type_hints(init), _param_docs(init)
        params = inspect.signature(init).parameters.values()
        for param in params:
            if param.kind is param.KEYWORD_ONLY and param.name not in skip:
                default = None if param.default is param.empty else param.default
                out.setdefault(param.name, Setting(hints.get(param.name), default,
                                                   docs.get(param.name, '')))
        if not any(param.kind is param.VAR_KEYWORD for param in params):
            break
    return out


def train_settings() -> Dict[str, Setting]:
    """
    Return the top-level settings of TrainConfig.

    :return: {name: Setting}, in field order.
    """
    hints, docs = typing.get_type_hints(TrainConfig), attribute_docs(TrainConfig)
    return {f.name: Setting(hints[f.name],
                            f.default_factory() if f.default is dataclasses.MISSING
                            else f.default, docs.get(f.name, ''))
            for f in dataclasses.fields(TrainConfig)}


def task_ids() -> Tuple[str, ...]:
    """
    Return the task ids a config may name.

    :return: sorted ids.
    """
    from predctl_ros.envs.tasks import TASKS
    return tuple(sorted(TASKS))


def section_settings(section: str, task: str = 'reach2d',
                     teacher: str = 'osc') -> Dict[str, Setting]:
    """
    Return the sub-settings a section of the config accepts.

    :param section: 'model', 'policy', 'task_options' or 'teacher_gains'.
    :param task: task id (task_options and the operational-space teacher's gains depend on it).
    :param teacher: teacher kind (teacher_gains depend on it).
    :return: {name: Setting}; defaults are those of the role, task or teacher.
    """
    if section in ('model', 'policy'):
        from predctl_ros.snn.spec import NetworkSpec, policy_spec, prediction_spec
        # Each role's own defaults (recurrence, readout); the sizes come from the task.
        base = prediction_spec(1, 1) if section == 'model' else policy_spec(1, 1, 1)
        hints, docs = typing.get_type_hints(NetworkSpec), attribute_docs(NetworkSpec)
        return {f.name: Setting(hints[f.name], getattr(base, f.name), docs.get(f.name, ''))
                for f in dataclasses.fields(NetworkSpec) if f.name not in NETWORK_FIXED}
    if section == 'task_options':
        from predctl_ros.envs.tasks import TASKS
        # A task option named like a setting (episode_steps) is passed from that setting.
        return _keyword_settings(TASKS[task], skip=set(train_settings()))
    if section == 'teacher_gains':
        from predctl_ros.envs.reference import CONTROLLERS, DEFAULT_GAINS
        settings = _keyword_settings(CONTROLLERS[teacher])
        if teacher == 'osc':   # reference_controller starts from the task's gains
            settings.update({name: settings[name]._replace(default=value)
                             for name, value in DEFAULT_GAINS[task].items()})
        return settings
    raise ValueError(f'{section!r} has no sub-settings; these do: {", ".join(SECTIONS)}')


def _accepts(kind, value) -> bool:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is None or kind is typing.Any:
        return True
    if origin is typing.Union:
        return any(_accepts(arg, value) for arg in args)
    if origin in (tuple, list):
        return (isinstance(value, (list, tuple))
                and all(_accepts(args[0] if args else None, item) for item in value))
    if kind in (int, float) and isinstance(value, bool):
        return False
    if kind is float:
        return isinstance(value, (int, float))
    return isinstance(value, kind)


def _describe(kind, plural: bool = False) -> str:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is typing.Union:
        return ' or '.join(_describe(arg, plural) for arg in args)
    if origin in (tuple, list):
        return 'a list of ' + (_describe(args[0], True) if args else 'values')
    return _NAMES.get(kind, (getattr(kind, '__name__', str(kind)),) * 2)[plural]


def _check(key: str, setting: Setting, value, allowed: str) -> Optional[str]:
    if setting is None:
        return f'unknown setting {key!r} (value {value!r}); allowed: {allowed}'
    if not _accepts(setting.kind, value):
        return (f'{key}: expected {_describe(setting.kind)}, got {value!r} '
                f'({type(value).__name__})')
    return None


def setting_problems(values: dict) -> List[Tuple[str, str]]:
    """
    Return what is wrong with the keys and value types of settings.

    The teacher's gains are left to :func:`preflight`, which knows the teacher's own.

    :param values: top-level settings by name, as in TrainConfig(**values).
    :return: [(key, one-line message naming the key, the value and what is allowed)].
    """
    known = train_settings()
    problems = []
    for name, value in values.items():
        problem = _check(name, known.get(name), value, ', '.join(known))
        if problem:
            problems.append((name, problem))
    task = values.get('task', known['task'].default)
    task_known = isinstance(task, str) and task in task_ids()
    if isinstance(task, str) and not task_known:
        problems.append(('task', f'task must be one of {task_ids()}, got {task!r}'))
    for section in ('model', 'policy', 'task_options'):
        entries = values.get(section)
        if not isinstance(entries, dict) or not entries or (
                section == 'task_options' and not task_known):
            continue
        allowed = section_settings(section, task)
        names = ', '.join(allowed)
        if section == 'task_options':
            names += f' (options of task {task})'
        for sub, value in entries.items():
            key = f'{section}.{sub}'
            problem = _check(key, allowed.get(sub), value, names)
            if problem:
                problems.append((key, problem))
    return problems


def _from_text(setting: Optional[Setting], text: str):
    # A command-line value as its setting's type; left a string when it is not one, so
    # that the type check names what was expected.
    kind = setting.kind if setting else str
    if kind is bool:
        word = text.strip().lower()
        return True if word in _TRUE else False if word in _FALSE else text
    if kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            return text
    if kind is str:
        return text
    return _from_yaml(text)


def _from_yaml(text: str):
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError:
        return text


def _read(path) -> dict:
    try:
        data = yaml.load(Path(path).read_text(), Loader=_Loader)
    except OSError as exc:
        raise ValueError(f'{path}: cannot read training config ({exc.strerror or exc})') from exc
    except yaml.YAMLError as exc:
        raise ValueError(f'{path}: not valid YAML ({_one_line(exc)})') from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f'{path}: expected a mapping of settings (key: value lines), got '
                         f'{_one_line(repr(data))[:60]}')
    return data


def load_config(path: Optional[str] = None, overrides: Sequence[str] = ()) -> TrainConfig:
    """
    Build a TrainConfig from an optional YAML file and key=value overrides.

    :param path: YAML file with TrainConfig fields at top level.
    :param overrides: strings 'field=value' or 'section.name=value', section one of
        model, policy, task_options, teacher_gains.
    :return: the validated config.
    :raises ValueError: one line per problem, each naming where the value came from
        (the file or the override), the key, the value and what is allowed.
    """
    settings = train_settings()
    values, origin = {}, {}

    def put(key, value, where):
        if key in SECTIONS and value is None:   # every entry of the section commented out
            value = {}
        values[key] = dict(value) if isinstance(value, dict) else value
        origin[key] = where
        if key in SECTIONS and isinstance(value, dict):
            origin.update({f'{key}.{sub}': where for sub in value})

    if path is not None:
        for key, value in _read(path).items():
            put(key, value, str(path))
    for item in overrides:
        key, sep, text = item.partition('=')
        where = f'override {item!r}'
        if not sep:
            raise ValueError(f'{where}: expected KEY=VALUE, e.g. iterations=10')
        head, dot, sub = key.partition('.')
        if not dot:
            put(head, _from_text(settings.get(head), text), where)
        elif head not in SECTIONS:
            raise ValueError(f'{where}: {head!r} has no sub-settings; these do: '
                             f'{", ".join(SECTIONS)}')
        else:
            section = values.get(head)
            values[head] = dict(section) if isinstance(section, dict) else {}
            values[head][sub] = _from_yaml(text)
            origin[key] = where
    problems = setting_problems(values)
    if problems:
        raise ValueError('; '.join(f'{origin.get(key, origin.get(key.split(".")[0]))}: {message}'
                                   for key, message in problems))
    for name, value in values.items():
        if settings[name].kind is float:
            values[name] = float(value)
    return TrainConfig(**values)


def preflight(cfg: TrainConfig) -> None:
    """
    Refuse what only building the run can tell, before a run writes anything.

    Builds what :func:`predctl_ros.learning.train.train` builds first, on the CPU: the
    device, the task with its options, the teacher, both networks and the networks of
    ``init_checkpoint``; train itself meets these only after creating its run directory.

    :param cfg: a config from :func:`load_config`.
    :raises ValueError: one line naming the setting, the value and what is allowed.
    """
    from predctl_ros import envs
    from predctl_ros.learning import distributed
    from predctl_ros.learning.train import build_networks, make_teacher, warm_start
    from predctl_ros.snn.checkpoint import CheckpointError

    def refuse(key, exc):
        raise ValueError(f'{key}: {_one_line(exc)}') from exc

    world = int(os.environ.get('WORLD_SIZE', '1'))
    try:
        distributed.resolve_device(cfg.device, int(os.environ.get('LOCAL_RANK', '0')), world)
        for name in ('envs', 'batch'):   # each torchrun process takes an equal share
            distributed.share(getattr(cfg, name), world, 0, name)
    except ValueError as exc:
        raise ValueError(_one_line(exc)) from exc
    try:
        task = envs.make_task(cfg.task, episode_steps=cfg.episode_steps, **cfg.task_options)
    except (TypeError, ValueError) as exc:
        refuse('task_options', exc)
    if cfg.teacher_gains or cfg.imitation_iterations:
        allowed = section_settings('teacher_gains', cfg.task, cfg.teacher)
        for name, value in cfg.teacher_gains.items():
            if name not in allowed:
                raise ValueError(f'unknown setting teacher_gains.{name} (value {value!r}); '
                                 f'allowed: {", ".join(allowed)} (gains of teacher '
                                 f'{cfg.teacher})')
        try:
            make_teacher(cfg, task)
        except (TypeError, ValueError) as exc:
            refuse('teacher_gains', exc)
    on_cpu = dataclasses.replace(cfg, device='cpu')
    try:
        model, policy = build_networks(on_cpu, task.spec)
    except (TypeError, ValueError) as exc:
        # Which section: build each network with the other section left at its defaults.
        try:
            build_networks(dataclasses.replace(on_cpu, policy={}), task.spec)
        except (TypeError, ValueError):
            refuse('model', exc)
        refuse('policy', exc)
    if cfg.init_checkpoint:
        try:
            warm_start(model, policy, on_cpu, 'cpu')
        except (CheckpointError, OSError) as exc:
            refuse('init_checkpoint', exc)
        except ValueError as exc:   # names init_checkpoint and what differs already
            raise ValueError(_one_line(exc)) from exc


def describe_settings() -> str:
    """
    Describe every setting: its key, its default and its meaning.

    :return: text, one setting per entry (key: default, then its meaning indented).
    """
    from predctl_ros.envs.reference import CONTROLLERS

    lines = ['Settings of `predctl train` (keys of the --config YAML file, or --set KEY=VALUE).',
             'Defaults of task_options and teacher_gains depend on the task and teacher.', '']

    def entry(key, default, meaning):
        lines.append(f'{key}: {default}')
        lines.extend(textwrap.wrap(meaning, 84, initial_indent='    ',
                                   subsequent_indent='    '))

    def grouped(section, by_task, label=''):
        # One entry per sub-setting; its default per task where the tasks differ.
        names = list(dict.fromkeys(n for settings in by_task.values() for n in settings))
        for name in names:
            where = {task: settings[name] for task, settings in by_task.items()
                     if name in settings}
            shown = {task: _show(s.default) for task, s in where.items()}
            if len(set(shown.values())) > 1:
                default = ', '.join(f'{value} ({task})' for task, value in shown.items())
            elif len(where) < len(by_task):
                default = f'{next(iter(shown.values()))} ({", ".join(where)} only)'
            else:
                default = next(iter(shown.values()))
            meaning = next(iter(where.values())).meaning
            entry(f'{section}.{name}{label}', default, meaning[:1].upper() + meaning[1:])

    for name, setting in train_settings().items():
        entry(name, _show(setting.default), setting.meaning)
    for section in ('model', 'policy'):
        for name, setting in section_settings(section).items():
            entry(f'{section}.{name}', _show(setting.default), setting.meaning)
    grouped('task_options', {task: section_settings('task_options', task)
                             for task in task_ids()})
    for teacher in CONTROLLERS:
        grouped('teacher_gains', {task: section_settings('teacher_gains', task, teacher)
                                  for task in task_ids()}, f' (teacher {teacher})')
    return '\n'.join(lines)
