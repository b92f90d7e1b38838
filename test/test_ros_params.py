# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Declared parameters: bad start values stop the node, bad changes are refused."""

from predctl_ros.nodes import params
import pytest
import rclpy
from rclpy.node import Node
from rclpy.parameter import Parameter


@pytest.fixture
def context(ros_domain):
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    yield ctx
    rclpy.shutdown(context=ctx)


RATE = params.Param('rate', 50.0, 'a rate', params.in_range(1.0, 100.0))
MODE = params.Param('mode', 'a', 'a mode', params.one_of('a', 'b'))
GAINS = params.Param('gains', [1.0, 2.0], 'gains', params.numbers(length=2))


def test_start_values_checked(context):
    node = Node('p', context=context,
                parameter_overrides=[Parameter('mode', value='c')])
    with pytest.raises(params.ParameterError, match="'mode' must be one of"):
        params.declare(node, [RATE, MODE])
    node.destroy_node()


def test_changes_refused_with_reason(context):
    node = Node('p', context=context)
    seen = []
    values = params.declare(node, [RATE, MODE, GAINS],
                            on_change=lambda n, v: seen.append((n, v)) or None)
    assert values == {'rate': 50.0, 'mode': 'a', 'gains': [1.0, 2.0]}
    result = node.set_parameters([Parameter('gains', value=[1.0])])[0]
    assert not result.successful and 'needs 2 numbers' in result.reason
    result = node.set_parameters([Parameter('gains', value=[1.0, float('nan')])])[0]
    assert not result.successful and 'non-finite' in result.reason
    assert node.get_parameter('gains').value == [1.0, 2.0]
    assert node.set_parameters([Parameter('mode', value='b')])[0].successful
    assert seen == [('mode', 'b')]
    node.destroy_node()


def test_on_change_can_refuse(context):
    node = Node('p', context=context)
    params.declare(node, [MODE], on_change=lambda n, v: 'does not load')
    result = node.set_parameters([Parameter('mode', value='b')])[0]
    assert not result.successful and result.reason == 'mode does not load'
    assert node.get_parameter('mode').value == 'a'
    node.destroy_node()
