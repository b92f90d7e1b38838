# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Shared test fixtures."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _seeded():
    """Give every test the same torch seed, without leaking state between tests."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        yield
