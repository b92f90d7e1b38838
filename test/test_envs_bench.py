# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Smoke tests of bench/: bench_envs.py rewrites only its section; the GPU check runs anywhere."""

import os
from pathlib import Path
import subprocess
import sys

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import bench_envs, report  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402


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


def test_gpu_check_says_why_it_did_nothing_without_a_gpu():
    """The GPU check is safe to run anywhere: without CUDA it names the reason, exit 0."""
    if torch.cuda.is_available():
        pytest.skip('a CUDA device is present: the check would train')
    done = subprocess.run(['bash', str(ROOT / 'bench' / 'gpu_check.sh')], capture_output=True,
                          text=True, env={**os.environ, 'PYTHON': sys.executable}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert 'gpu_check: no GPU to check: ' in done.stdout
    assert ('CPU-only build' in done.stdout) == (torch.version.cuda is None)
