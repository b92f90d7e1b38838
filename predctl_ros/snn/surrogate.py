# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
r"""
Surrogate gradients for the spike non-linearity.

The forward pass is the Heaviside step :math:`z = H(x)` of the distance to
threshold :math:`x = v - \theta`; the backward pass replaces the Dirac delta
:math:`H'(x)` by a smooth pseudo-derivative :math:`f(x)` with :math:`f(0) = 1`
(Neftci, Mostafa & Zenke 2019).  Each shape is the exact derivative of a smooth
primitive, which the tests use to gradcheck the formula.

Shapes (:math:`\beta` = sharpness):

* ``multi_gaussian`` (default, Yin et al. 2021): a narrow positive Gaussian of
  width :math:`\sigma = 1/\beta` minus two side Gaussians of width
  :math:`s\sigma` at :math:`\pm\sigma`, :math:`h = 0.15`, :math:`s = 6`.
* ``fast_sigmoid`` (SuperSpike, Zenke & Ganguli 2018):
  :math:`f(x) = 1 / (1 + \beta |x|)^2`.
* ``atan`` (Fang et al. 2021): :math:`f(x) = 1 / (1 + (\pi \beta x / 2)^2)`.
* ``sigmoid``: :math:`f(x) = 4 s(\beta x)(1 - s(\beta x))` with the logistic s.
"""

import math
from typing import Callable, Dict, NamedTuple

import torch
from torch import Tensor

MULTI_GAUSSIAN_HEIGHT = 0.15
MULTI_GAUSSIAN_SCALE = 6.0


def _gauss(x: Tensor, mu: float, sigma: float) -> Tensor:
    return torch.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2.0 * math.pi))


def _multi_gaussian_peak(sigma: float) -> float:
    h, s = MULTI_GAUSSIAN_HEIGHT, MULTI_GAUSSIAN_SCALE
    side = math.exp(-0.5 / s ** 2) / (s * sigma * math.sqrt(2.0 * math.pi))
    return (1.0 + h) / (sigma * math.sqrt(2.0 * math.pi)) - 2.0 * h * side


def multi_gaussian(x: Tensor, sharpness: float) -> Tensor:
    """
    Return the multi-Gaussian pseudo-derivative, normalised to 1 at threshold.

    :param x: distance to threshold.
    :param sharpness: inverse width of the central Gaussian.
    :return: f(x), same shape as x.
    """
    sigma = 1.0 / sharpness
    h, s = MULTI_GAUSSIAN_HEIGHT, MULTI_GAUSSIAN_SCALE
    f = ((1.0 + h) * _gauss(x, 0.0, sigma)
         - h * _gauss(x, sigma, s * sigma) - h * _gauss(x, -sigma, s * sigma))
    return f / _multi_gaussian_peak(sigma)


def fast_sigmoid(x: Tensor, sharpness: float) -> Tensor:
    """
    Return the SuperSpike pseudo-derivative 1 / (1 + beta |x|)^2.

    :param x: distance to threshold.
    :param sharpness: slope beta.
    :return: f(x), same shape as x.
    """
    return (1.0 + sharpness * x.abs()).reciprocal().square()


def atan(x: Tensor, sharpness: float) -> Tensor:
    """
    Return the arctangent pseudo-derivative 1 / (1 + (pi beta x / 2)^2).

    :param x: distance to threshold.
    :param sharpness: slope beta.
    :return: f(x), same shape as x.
    """
    return (1.0 + (0.5 * math.pi * sharpness * x) ** 2).reciprocal()


def sigmoid(x: Tensor, sharpness: float) -> Tensor:
    """
    Return the scaled logistic pseudo-derivative 4 s(beta x) (1 - s(beta x)).

    :param x: distance to threshold.
    :param sharpness: slope beta.
    :return: f(x), same shape as x.
    """
    s = torch.sigmoid(sharpness * x)
    return 4.0 * s * (1.0 - s)


DERIVATIVES: Dict[str, Callable[[Tensor, float], Tensor]] = {
    'multi_gaussian': multi_gaussian,
    'fast_sigmoid': fast_sigmoid,
    'atan': atan,
    'sigmoid': sigmoid,
}


class _SpikeFunction(torch.autograd.Function):
    """Heaviside forward, surrogate backward (Neftci et al. 2019, sec. III)."""

    @staticmethod
    def forward(x, derivative, sharpness):
        return (x > 0).to(x.dtype)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, derivative, sharpness = inputs
        ctx.save_for_backward(x)
        ctx.derivative = derivative
        ctx.sharpness = sharpness

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * ctx.derivative(x, ctx.sharpness), None, None


class Surrogate(NamedTuple):
    """A named surrogate shape with its sharpness; plain data, safe to store in configs."""

    name: str = 'multi_gaussian'
    sharpness: float = 16.0

    def check(self) -> 'Surrogate':
        """
        Validate the name and sharpness.

        :return: self, for chaining.
        """
        if self.name not in DERIVATIVES:
            raise ValueError(
                f'unknown surrogate {self.name!r}; choose one of {sorted(DERIVATIVES)}')
        if not self.sharpness > 0:
            raise ValueError(f'surrogate sharpness must be > 0, got {self.sharpness}')
        return self

    def spike(self, x: Tensor) -> Tensor:
        """
        Emit spikes H(x) with this surrogate in the backward pass.

        :param x: distance to threshold.
        :return: 0/1 tensor of x's dtype.
        """
        return _SpikeFunction.apply(x, DERIVATIVES[self.name], self.sharpness)

    def derivative(self, x: Tensor) -> Tensor:
        """
        Evaluate the pseudo-derivative at x.

        :param x: distance to threshold.
        :return: f(x).
        """
        return DERIVATIVES[self.name](x, self.sharpness)
