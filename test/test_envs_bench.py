# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Smoke test of bench/bench_envs.py: it runs and rewrites only its own section."""

from pathlib import Path
import sys

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import bench_envs, report  # noqa: E402


def test_quick_run_replaces_only_its_section(tmp_path, capsys):
    """A --quick run prints the table and replaces the text between its markers only."""
    doc = tmp_path / 'benchmarks.md'
    doc.write_text('# Benchmarks\n\nintro\n\n<!-- bench_envs:start -->\nold numbers\n'
                   '<!-- bench_envs:end -->\n\n<!-- bench_snn:start -->\nsnn\n'
                   '<!-- bench_snn:end -->\n')
    assert bench_envs.main(['--quick', '--tasks', 'reach2d', '--write', str(doc)]) == 0
    text = doc.read_text()
    assert 'old numbers' not in text
    assert text.startswith('# Benchmarks\n\nintro\n\n<!-- bench_envs:start -->\n')
    assert text.endswith('<!-- bench_envs:end -->\n\n<!-- bench_snn:start -->\nsnn\n'
                         '<!-- bench_snn:end -->\n')
    assert '- Command: `python bench/bench_envs.py --quick --tasks reach2d --write' in text
    rows = [line for line in text.splitlines() if line.startswith('| reach2d |')]
    assert len(rows) == 8
    assert '| reach2d | bare mujoco.batch | 2 |' in text
    assert '| reach2d | bare mujoco.rollout | 2 |' in text and '| 1.00 |' in text
    assert 'BatchedReachEnv' in capsys.readouterr().out


def test_missing_file_gets_the_section(tmp_path):
    """Writing to a new file creates it with a heading and the section."""
    doc = tmp_path / 'new.md'
    report.write_section(str(doc), 'bench_envs', 'body')
    assert doc.read_text() == ('# Benchmarks\n\n<!-- bench_envs:start -->\nbody\n'
                               '<!-- bench_envs:end -->\n')
