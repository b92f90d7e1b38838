# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Training configuration: one frozen dataclass, loaded from YAML, overridable from the CLI.

``load_config('config/train_reach2d.yaml', ['iterations=5', 'policy.neuron=lif'])``
reads the file, applies ``key=value`` overrides (dotted keys reach into the
network overrides ``model`` and ``policy`` and into ``task_options``), converts each
value to the field's type and refuses unknown keys or bad values with a reason.
"""

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import yaml

TEACHERS = ('osc', 'joint_pd')
PRECISIONS = ('float32', 'bfloat16')
SECTIONS = ('model', 'policy', 'task_options', 'teacher_gains')


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
    action_magnitude: float = 0.0
    """Weight of the mean squared action in the policy loss."""
    action_smoothness: float = 0.0
    """Weight of the mean squared action change in the policy loss."""
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
    normalise_inputs: bool = True
    """Set each spiking network's input normalisation from the first collected episodes."""
    replay_steps: int = 2_000_000
    """Most transitions kept in replay."""
    eval_every: int = 1
    """Evaluate on the fixed test set every this many iterations."""
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
        """Refuse out-of-range values with a reason."""
        errors = []
        positive = ('iterations', 'envs', 'episode_steps', 'horizon', 'batch', 'replay_steps',
                    'eval_every')
        if self.precision not in PRECISIONS:
            errors.append(f'precision must be one of {PRECISIONS}, got {self.precision!r}')
        if self.teacher not in TEACHERS:
            errors.append(f'teacher must be one of {TEACHERS}, got {self.teacher!r}')
        for name in positive:
            if getattr(self, name) < 1:
                errors.append(f'{name} must be >= 1, got {getattr(self, name)}')
        for name in ('warmup', 'model_batches', 'policy_batches', 'weight_decay', 'threads',
                     'imitation_iterations', 'imitation_batches', 'action_noise',
                     'action_magnitude', 'action_smoothness', 'rate_reg', 'membrane_reg'):
            if not getattr(self, name) >= 0:   # NaN fails too
                errors.append(f'{name} must be >= 0, got {getattr(self, name)}')
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


def _convert(name: str, kind, text: str):
    if kind is bool:
        if text.lower() in ('1', 'true', 'yes', 'on'):
            return True
        if text.lower() in ('0', 'false', 'no', 'off'):
            return False
        raise ValueError(f'{name}: expected a boolean, got {text!r}')
    try:
        return kind(text)
    except ValueError as exc:
        raise ValueError(f'{name}: expected {kind.__name__}, got {text!r}') from exc


def load_config(path: Optional[str] = None, overrides: Sequence[str] = ()) -> TrainConfig:
    """
    Build a TrainConfig from an optional YAML file and key=value overrides.

    :param path: YAML file with TrainConfig fields at top level.
    :param overrides: strings 'field=value' or 'model.field=value' / 'policy.field=value' /
        'task_options.name=value'.
    :return: the validated config.
    """
    values = {}
    if path is not None:
        try:
            values = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ValueError(f'{path}: cannot read training config ({exc})') from exc
        if not isinstance(values, dict):
            raise ValueError(f'{path}: expected a mapping of settings')
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ValueError(f'{path}: unknown settings {unknown}')
    values = {k: (dict(v) if isinstance(v, dict) else v) for k, v in values.items()}
    for item in overrides:
        key, sep, text = item.partition('=')
        if not sep:
            raise ValueError(f'override {item!r} is not key=value')
        head, _, sub = key.partition('.')
        if head not in fields:
            raise ValueError(f'unknown setting {head!r} in override {item!r}')
        if sub:
            if head not in SECTIONS:
                raise ValueError(f'{head!r} has no sub-settings (override {item!r})')
            values.setdefault(head, {})[sub] = yaml.safe_load(text)
        else:
            default = fields[head].default
            values[head] = _convert(head, type(default), text)
    return TrainConfig(**values)
