# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Per-neuron time constants stored in log space, learnable or fixed."""

import math

import torch
from torch import nn, Tensor

# Safe range of any time constant: below ~dt the Euler-free decay still works, but
# a neuron faster than 1 ms or slower than 7 s is outside what the tasks need.
TAU_MIN_S = 1e-3
TAU_MAX_S = 7.0


class TimeConstant(nn.Module):
    """
    One time constant per neuron, tau = exp(log_tau) clamped to [min_s, max_s].

    Learning log(tau) keeps tau positive and makes relative changes uniform across
    scales; the clamp keeps decays exp(-dt/tau) away from 0 and 1.
    """

    def __init__(self, size: int, init_s: float, learnable: bool = True,
                 min_s: float = TAU_MIN_S, max_s: float = TAU_MAX_S):
        """
        Create time constants initialised to init_s seconds.

        :param size: number of neurons.
        :param init_s: initial time constant in seconds.
        :param learnable: whether log(tau) is a trainable parameter or a fixed buffer.
        :param min_s: lower clamp in seconds.
        :param max_s: upper clamp in seconds.
        """
        super().__init__()
        if not 0.0 < min_s <= init_s <= max_s:
            raise ValueError(
                f'time constant {init_s} s outside the allowed range [{min_s}, {max_s}] s')
        self.log_min = math.log(min_s)
        self.log_max = math.log(max_s)
        log_tau = torch.full((size,), math.log(init_s))
        if learnable:
            self.log_tau = nn.Parameter(log_tau)
        else:
            self.register_buffer('log_tau', log_tau)

    def tau_s(self) -> Tensor:
        """
        Return the clamped time constants in seconds.

        :return: tensor [size].
        """
        return self.log_tau.clamp(self.log_min, self.log_max).exp()

    def decay(self, dt_s: float) -> Tensor:
        """
        Return the per-step decay exp(-dt / tau).

        :param dt_s: SNN step in seconds.
        :return: tensor [size] in (0, 1).
        """
        return torch.exp(-dt_s / self.tau_s())
