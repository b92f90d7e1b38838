# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Goal sources and the per-goal report of the goal publisher, without ROS."""

import json

import numpy as np
from predctl_ros.control import GoalChecker, GoalReport, GoalSource
import pytest


def test_random_goals_are_reproducible_and_reachable():
    source = GoalSource('random', seed=4)
    goals = np.array([source.draw() for _ in range(20)])
    np.testing.assert_array_equal(GoalSource('random', seed=4).draw(), goals[0])
    checker = GoalChecker()
    for goal in goals:
        checker.check(goal, 'panda_link0')
    assert len({tuple(g) for g in goals}) == 20
    assert not np.array_equal(GoalSource('random', seed=5).draw(), goals[0])


def test_list_goals_cycle_and_bad_lists_are_refused():
    source = GoalSource('list', [0.5, 0.0, 0.4, 0.4, 0.3, 0.5])
    assert [source.draw().tolist() for _ in range(3)] == [[0.5, 0.0, 0.4], [0.4, 0.3, 0.5],
                                                          [0.5, 0.0, 0.4]]
    with pytest.raises(ValueError, match='triples'):
        GoalSource('list', [0.5, 0.0])
    with pytest.raises(ValueError, match='source'):
        GoalSource('clicks')


def test_report_lines_summary_and_json(tmp_path):
    report = GoalReport(tolerance=0.05, count=3)
    report.start([0.5, 0.0, 0.4], 10.0)
    report.observe([0.5, 0.0, 0.0], 10.5)        # ignored: not adopted yet
    report.adopt([0.5, 0.0, 0.4])
    for t, z in ((11.0, 0.2), (11.5, 0.37), (12.0, 0.42), (12.5, 0.33)):
        report.observe([0.5, 0.0, z], t)
    first = report.finish()
    assert first.time_to_tolerance == pytest.approx(1.5)
    assert first.min_distance == pytest.approx(0.02)
    assert first.final_distance == pytest.approx(0.07)
    assert not first.reached
    line = first.line(3)
    assert line.startswith('goal_result index=1 of=3 sent=0.5000,0.0000,0.4000 ')
    assert 'adopted=true final_distance=0.0700 min_distance=0.0200' in line
    assert 'time_to_tolerance=1.500 reached=false samples=4' in line
    report.start([0.9, 0.0, 0.0], 14.0)           # never adopted
    second = report.finish()
    assert 'adopted=false final_distance=none' in second.line(3)
    assert report.summary() == {'goals': 2, 'adopted': 1, 'reached': 0,
                                'median_final_distance': pytest.approx(0.07)}
    assert report.summary_line() == ('goal_summary reached=0 of=2 adopted=1 '
                                     'median_final_distance=0.0700')
    report.write(tmp_path / 'r.json', topic='clicked_point')
    data = json.loads((tmp_path / 'r.json').read_text())
    assert data['topic'] == 'clicked_point' and data['goals'][1]['adopted'] is False
