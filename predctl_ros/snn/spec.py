# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Network specifications: plain, JSON-able data from which networks are rebuilt."""

import dataclasses
from dataclasses import dataclass, field
from typing import Optional, Tuple

from predctl_ros.snn.surrogate import DERIVATIVES

ROLES = ('prediction', 'policy')
ARCHS = ('snn', 'gru', 'mlp')


@dataclass(frozen=True)
class NetworkSpec:
    """Everything needed to rebuild a network; stored in checkpoints as JSON."""

    role: str
    """'prediction' (state + action -> state change) or 'policy' (state + goal -> action)."""
    n_in: int
    """Input size (observation + action, or observation + goal)."""
    n_out: int
    """Output size (observation change, or action)."""
    arch: str = 'snn'
    """'snn', or the non-spiking baselines 'gru' (prediction) and 'mlp' (policy)."""
    hidden: Tuple[int, ...] = (512, 512)
    """Neurons per hidden layer."""
    recurrent: Tuple[bool, ...] = (True, False)
    """Whether each hidden layer has recurrent weights."""
    neuron: str = 'lif'
    """'lif' or 'alif'."""
    rank: Optional[int] = None
    """Latent rank of hidden-to-hidden and recurrent weights; None = dense."""
    learn_tau: bool = True
    """Learn per-neuron time constants."""
    tau_mem_s: float = 0.010
    """Initial membrane time constant."""
    tau_syn_s: float = 0.005
    """Initial synaptic time constant."""
    tau_ada_s: float = 0.100
    """Initial adaptation time constant (ALIF)."""
    tau_out_s: float = 0.010
    """Initial readout time constant."""
    threshold: float = 1.0
    """Base firing threshold."""
    adaptation: float = 0.05
    """ALIF threshold increase per unit of adaptation trace (xi)."""
    silent_decay_per_s: float = 0.0
    """ALIF threshold-base decay of silent neurons per second; 0 disables it."""
    surrogate: str = 'multi_gaussian'
    """Surrogate derivative name."""
    sharpness: float = 16.0
    """Surrogate sharpness."""
    dt_s: float = 0.002
    """SNN step."""
    substeps: int = 7
    """SNN steps per control step; the output is the readout of the last one."""
    init: str = 'fluctuation'
    """'fluctuation' (Rossbroich et al. 2022) or 'plain'."""
    init_rate_hz: float = 50.0
    """Presynaptic rate assumed by the fluctuation-driven init."""
    init_ff_fraction: float = 0.9
    """Share of membrane variance from feed-forward input in recurrent layers."""
    input_scale: float = 0.5
    """Initial learnable per-input current scale."""
    readout_gain: float = 0.005
    """Scale of the initial readout weights (times 1/sqrt(fan-in))."""
    tanh: bool = False
    """Squash outputs with tanh (policy actions in [-1, 1])."""
    extra: dict = field(default_factory=dict)
    """Free-form notes carried along (e.g. the baseline hidden size)."""

    def __post_init__(self):
        """Refuse inconsistent or out-of-range settings with a reason."""
        errors = []
        if self.role not in ROLES:
            errors.append(f'role must be one of {ROLES}, got {self.role!r}')
        if self.arch not in ARCHS:
            errors.append(f'arch must be one of {ARCHS}, got {self.arch!r}')
        if self.n_in < 1 or self.n_out < 1:
            errors.append(f'n_in and n_out must be >= 1, got {self.n_in}, {self.n_out}')
        if not self.hidden or any(h < 1 for h in self.hidden):
            errors.append(f'hidden sizes must be >= 1, got {self.hidden}')
        if len(self.recurrent) != len(self.hidden):
            errors.append(f'recurrent {self.recurrent} needs one flag per hidden layer '
                          f'{self.hidden}')
        if self.neuron not in ('lif', 'alif'):
            errors.append(f"neuron must be 'lif' or 'alif', got {self.neuron!r}")
        if self.rank is not None and not 1 <= self.rank <= min(self.hidden):
            errors.append(f'rank must be in [1, {min(self.hidden)}] or None, got {self.rank}')
        if self.surrogate not in DERIVATIVES:
            errors.append(f'surrogate must be one of {sorted(DERIVATIVES)}, '
                          f'got {self.surrogate!r}')
        if self.init not in ('fluctuation', 'plain'):
            errors.append(f"init must be 'fluctuation' or 'plain', got {self.init!r}")
        if not self.dt_s > 0 or self.substeps < 1:
            errors.append(f'dt_s must be > 0 and substeps >= 1, got {self.dt_s}, '
                          f'{self.substeps}')
        for name in ('tau_mem_s', 'tau_syn_s', 'tau_ada_s', 'tau_out_s', 'sharpness',
                     'threshold', 'init_rate_hz'):
            if not getattr(self, name) > 0:
                errors.append(f'{name} must be > 0, got {getattr(self, name)}')
        if errors:
            raise ValueError('invalid network spec: ' + '; '.join(errors))

    @property
    def control_dt_s(self) -> float:
        """Control period: substeps SNN steps."""
        return self.dt_s * self.substeps

    def to_dict(self) -> dict:
        """
        Return the spec as JSON-able plain data.

        :return: dict of field values (tuples as lists).
        """
        out = dataclasses.asdict(self)
        out['hidden'] = list(self.hidden)
        out['recurrent'] = list(self.recurrent)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> 'NetworkSpec':
        """
        Rebuild a spec from to_dict output, refusing unknown fields.

        :param data: plain data.
        :return: NetworkSpec.
        """
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f'unknown network spec fields: {unknown}')
        values = dict(data)
        for name in ('hidden', 'recurrent'):
            if name in values:
                values[name] = tuple(values[name])
        return cls(**values)

    def replace(self, **changes) -> 'NetworkSpec':
        """
        Return a copy with some fields changed (validated again).

        :param changes: field values.
        :return: NetworkSpec.
        """
        return dataclasses.replace(self, **changes)


def prediction_spec(n_obs: int, n_act: int, **overrides) -> NetworkSpec:
    """
    Return the method's prediction-network spec: recurrent 512 -> 512, delta readout.

    :param n_obs: observation size.
    :param n_act: action size.
    :param overrides: fields to change.
    :return: NetworkSpec with role 'prediction'.
    """
    base = {'role': 'prediction', 'n_in': n_obs + n_act, 'n_out': n_obs,
            'recurrent': (True, False), 'readout_gain': 0.005, 'tanh': False}
    base.update(overrides)
    if 'hidden' in overrides and 'recurrent' not in overrides:
        base['recurrent'] = (True,) + (False,) * (len(overrides['hidden']) - 1)
    return NetworkSpec(**base)


def policy_spec(n_obs: int, n_goal: int, n_act: int, **overrides) -> NetworkSpec:
    """
    Return the method's policy-network spec: feed-forward 512 -> 512, tanh readout.

    :param n_obs: observation size.
    :param n_goal: goal size.
    :param n_act: action size.
    :param overrides: fields to change.
    :return: NetworkSpec with role 'policy'.
    """
    base = {'role': 'policy', 'n_in': n_obs + n_goal, 'n_out': n_act,
            'recurrent': (False, False), 'readout_gain': 0.5, 'tanh': True}
    base.update(overrides)
    if 'hidden' in overrides and 'recurrent' not in overrides:
        base['recurrent'] = (False,) * len(overrides['hidden'])
    return NetworkSpec(**base)
