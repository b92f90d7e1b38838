# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Surrogate derivatives: each is the exact derivative of its smooth primitive."""

import math

from predctl_ros.snn.surrogate import DERIVATIVES, MULTI_GAUSSIAN_HEIGHT as H
from predctl_ros.snn.surrogate import MULTI_GAUSSIAN_SCALE as S
from predctl_ros.snn.surrogate import Surrogate
import pytest
import torch

BETA = 16.0


def _phi(x):
    return 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))


def _multi_gaussian_primitive(x):
    sigma = 1.0 / BETA
    peak = ((1 + H) / (sigma * math.sqrt(2 * math.pi))
            - 2 * H * math.exp(-0.5 / S ** 2) / (S * sigma * math.sqrt(2 * math.pi)))
    f = ((1 + H) * _phi(x / sigma) - H * _phi((x - sigma) / (S * sigma))
         - H * _phi((x + sigma) / (S * sigma)))
    return f / peak


PRIMITIVES = {
    'multi_gaussian': _multi_gaussian_primitive,
    'fast_sigmoid': lambda x: x / (1.0 + BETA * x.abs()),
    'atan': lambda x: 2.0 / (math.pi * BETA) * torch.atan(0.5 * math.pi * BETA * x),
    'sigmoid': lambda x: 4.0 / BETA * torch.sigmoid(BETA * x),
}


@pytest.mark.parametrize('name', sorted(DERIVATIVES))
def test_derivative_is_gradient_of_primitive(name):
    """Gradcheck a function whose forward is the primitive and backward the library's f."""
    derivative = DERIVATIVES[name]

    class Probe(torch.autograd.Function):

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return PRIMITIVES[name](x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * derivative(x, BETA)

    x = torch.linspace(-0.7, 0.7, 57, dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(Probe.apply, (x,), eps=1e-6, atol=1e-6)


@pytest.mark.parametrize('name', sorted(DERIVATIVES))
def test_spike_forward_is_heaviside_backward_is_surrogate(name):
    surrogate = Surrogate(name, BETA)
    x = torch.tensor([-0.5, -1e-3, 0.0, 1e-3, 0.5], dtype=torch.float64, requires_grad=True)
    z = surrogate.spike(x)
    assert z.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]
    g = torch.randn(5, dtype=torch.float64)
    (grad,) = torch.autograd.grad(z, x, g)
    torch.testing.assert_close(grad, g * DERIVATIVES[name](x.detach(), BETA))
    assert surrogate.derivative(torch.zeros(1, dtype=torch.float64)).item() == pytest.approx(1.0)
    # Symmetric and decaying away from threshold.
    far = surrogate.derivative(torch.tensor([-2.0, 2.0], dtype=torch.float64))
    assert far[0].item() == pytest.approx(far[1].item())
    assert abs(far[0].item()) < 0.05


def test_bad_surrogate_settings_are_refused():
    with pytest.raises(ValueError, match='unknown surrogate'):
        Surrogate('nope').check()
    with pytest.raises(ValueError, match='sharpness'):
        Surrogate('atan', 0.0).check()


@pytest.mark.parametrize('name', sorted(DERIVATIVES))
def test_compiled_kernel_surrogate_matches_torch(name):
    """The CPU kernels evaluate the same pseudo-derivative (own exp included)."""
    import numba
    import numpy as np
    from predctl_ros.snn import kernels

    evaluate = numba.njit(lambda x, sp: kernels._surrogate(x, sp))
    constants = kernels.surrogate_constants(name, BETA)
    x = np.linspace(-3.0, 3.0, 601)
    got = np.array([evaluate(v, constants) for v in x])
    want = DERIVATIVES[name](torch.from_numpy(x), BETA).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_kernel_exp_is_accurate_over_its_range():
    import numba
    import numpy as np
    from predctl_ros.snn.kernels import exp_neg

    evaluate = numba.njit(lambda y: exp_neg(y))
    y = -np.concatenate([np.linspace(0.0, 5.0, 1001), np.geomspace(5.0, 700.0, 200)])
    got = np.array([evaluate(v) for v in y])
    np.testing.assert_allclose(got, np.exp(y), rtol=1e-13)
    assert evaluate(-1e4) == pytest.approx(np.exp(-700.0))


def test_kernel_float32_exp_is_accurate_to_float32():
    import numba
    import numpy as np
    from predctl_ros.snn.kernels import exp_neg32

    evaluate = numba.njit(lambda y: exp_neg32(y))
    y = -np.linspace(0.0, 80.0, 40001).astype(np.float32)
    got = np.array([evaluate(v) for v in y])
    np.testing.assert_allclose(got, np.exp(y.astype(np.float64)), rtol=2e-7)
    # Below the clamp the result stays a normal float (no denormal slow path).
    assert evaluate(np.float32(-1e4)) == pytest.approx(np.exp(-80.0), rel=1e-6)
