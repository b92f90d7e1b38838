# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
r"""
Weight matrices between populations: dense, or low rank (latent-space compression).

A low-rank connection factorises :math:`W = W_2 W_1` with :math:`W_1 \in
\mathbb{R}^{d \times n_{in}}` (orthogonal rows at init) and :math:`W_2 \in
\mathbb{R}^{n_{out} \times d}`: :math:`d (n_{in} + n_{out})` parameters instead
of :math:`n_{in} n_{out}`, a linear bottleneck of width d between spiking layers.
Connections carry no bias; the receiving layer owns one.
"""

from typing import Optional, Tuple

import torch
from torch import nn, Tensor
import torch.nn.functional as F


class DenseConnection(nn.Module):
    """Full weight matrix W [n_out, n_in]."""

    def __init__(self, n_in: int, n_out: int):
        """
        Create an uninitialised dense connection (the network initialises it).

        :param n_in: presynaptic size.
        :param n_out: postsynaptic size.
        """
        super().__init__()
        self.n_in, self.n_out = n_in, n_out
        self.weight = nn.Parameter(torch.empty(n_out, n_in))

    def forward(self, x: Tensor, bias: Optional[Tensor] = None) -> Tensor:
        """
        Apply W to the last axis of x, plus a bias.

        :param x: presynaptic activity [..., n_in].
        :param bias: added to every output, [n_out] (fused into the matmul).
        :return: currents [..., n_out].
        """
        return F.linear(x, self.weight, bias)

    def scan_weights(self) -> Tuple[Tensor, ...]:
        """
        Return the tensors the fused scan multiplies with.

        :return: (W,).
        """
        return (self.weight,)

    def effective_weight(self) -> Tensor:
        """
        Return the full matrix.

        :return: W [n_out, n_in].
        """
        return self.weight

    def init_weights(self, std: float) -> None:
        """
        Draw W ~ N(0, std^2).

        :param std: standard deviation of each entry.
        """
        with torch.no_grad():
            self.weight.normal_(0.0, std)

    @staticmethod
    def parameter_count(n_in: int, n_out: int, rank: Optional[int] = None) -> int:
        """
        Return n_in * n_out.

        :param n_in: presynaptic size.
        :param n_out: postsynaptic size.
        :param rank: ignored.
        :return: number of weights.
        """
        return n_in * n_out


class LowRankConnection(nn.Module):
    """Factorised weight W = W2 @ W1 of rank d."""

    def __init__(self, n_in: int, n_out: int, rank: int):
        """
        Create an uninitialised rank-d connection.

        :param n_in: presynaptic size.
        :param n_out: postsynaptic size.
        :param rank: latent width d, 1 <= d <= min(n_in, n_out).
        """
        super().__init__()
        if not 1 <= rank <= min(n_in, n_out):
            raise ValueError(f'rank {rank} must lie in [1, min({n_in}, {n_out})]')
        self.n_in, self.n_out, self.rank = n_in, n_out, rank
        self.w1 = nn.Parameter(torch.empty(rank, n_in))
        self.w2 = nn.Parameter(torch.empty(n_out, rank))

    def forward(self, x: Tensor, bias: Optional[Tensor] = None) -> Tensor:
        """
        Apply W2 @ W1 to the last axis of x through the d-dimensional latent, plus a bias.

        :param x: presynaptic activity [..., n_in].
        :param bias: added to every output, [n_out] (fused into the matmul).
        :return: currents [..., n_out].
        """
        return F.linear(x @ self.w1.t(), self.w2, bias)

    def scan_weights(self) -> Tuple[Tensor, ...]:
        """
        Return the tensors the fused scan multiplies with.

        :return: (W1, W2).
        """
        return (self.w1, self.w2)

    def effective_weight(self) -> Tensor:
        """
        Return the product W2 @ W1.

        :return: W [n_out, n_in].
        """
        return self.w2 @ self.w1

    def init_weights(self, std: float) -> None:
        """
        Draw orthonormal rows for W1 and scale W2 so entries of W2 @ W1 have this std.

        :param std: target standard deviation of each entry of the product.
        """
        with torch.no_grad():
            nn.init.orthogonal_(self.w1)
            # Rows of W1 have unit norm: Var(W_ij) = d Var(W2) / n_in on average.
            self.w2.normal_(0.0, std * (self.n_in / self.rank) ** 0.5)

    @staticmethod
    def parameter_count(n_in: int, n_out: int, rank: Optional[int] = None) -> int:
        """
        Return d * (n_in + n_out).

        :param n_in: presynaptic size.
        :param n_out: postsynaptic size.
        :param rank: latent width d.
        :return: number of weights.
        """
        return rank * (n_in + n_out)


def make_connection(n_in: int, n_out: int, rank: Optional[int] = None) -> nn.Module:
    """
    Build a dense connection, or a low-rank one when rank is given and saves weights.

    :param n_in: presynaptic size.
    :param n_out: postsynaptic size.
    :param rank: latent width, or None for dense.
    :return: DenseConnection or LowRankConnection.
    """
    if rank is None:
        return DenseConnection(n_in, n_out)
    return LowRankConnection(n_in, n_out, rank)
