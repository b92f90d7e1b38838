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


@pytest.fixture
def ros_domain(monkeypatch):
    """Give the test (and the processes it starts) a ROS_DOMAIN_ID of its own."""
    from ros_harness import next_domain_id
    domain = next_domain_id()
    monkeypatch.setenv('ROS_DOMAIN_ID', str(domain))
    monkeypatch.setenv('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    return domain


@pytest.fixture
def ros(ros_domain, tmp_path):
    """Yield (Processes, Probe) on the test's own domain; stop everything afterwards."""
    from ros_harness import Probe, Processes
    processes = Processes(tmp_path)
    probe = Probe()
    try:
        yield processes, probe
    finally:
        probe.close()
        processes.stop_all()
