# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
What a training run records: metrics.csv, TensorBoard scalars and learning-curve plots.

One row per iteration goes to ``metrics.csv`` (the resumable source of truth), to
TensorBoard under ``losses/``, ``charts/``, ``health/`` and ``eval/`` (keyed by
environment steps), and ``learning_curves.png`` is redrawn from the CSV.  TensorBoard
also gets histograms (:meth:`RunLog.histograms`) and, on its Custom Scalars tab, the
imagined and the real distance to the goal in one chart.
"""

import csv
import json
from pathlib import Path
import re
import subprocess

import matplotlib
matplotlib.use('Agg')  # noqa: E402 - headless: choose the backend before pyplot
import matplotlib.pyplot as plt  # noqa: E402
from predctl_ros.atomic import atomic_path  # noqa: E402

GROUPS = {'model_loss': 'losses', 'policy_distance': 'losses', 'policy_speed_excess': 'losses',
          'policy_position_excess': 'losses', 'collect_s': 'charts',
          'model_s': 'charts', 'policy_s': 'charts'}
HEALTH = re.compile(r'(model|policy)_(layer\d+|grad)_')
"""Columns of predctl_ros.learning.health: the ``health/`` group."""
LAYOUT = {'distance to goal': {'imagined vs real (held-out worlds)': [
    'Multiline', ['charts/imagined_distance', 'charts/real_distance']]}}
"""Custom-scalar charts: the imagined and the real distance on one set of axes."""


def _git_sha() -> str:
    try:
        return subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], capture_output=True,
                              text=True, cwd=Path(__file__).parent, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ''


def _group(key: str) -> str:
    if key.startswith(('test_', 'val_')):
        return 'eval'
    if HEALTH.match(key):
        return 'health'
    return GROUPS.get(key, 'charts')


class RunLog:
    """Write metrics of a run to CSV, TensorBoard and a plot."""

    def __init__(self, out_dir, config: dict, resume: bool):
        """
        Open the run's logs.

        :param out_dir: run directory.
        :param config: the training config as plain data (recorded as text).
        :param resume: append to an existing metrics.csv instead of starting a new one.
        """
        from torch.utils.tensorboard import SummaryWriter

        self.dir = Path(out_dir)
        self.csv = self.dir / 'metrics.csv'
        if not resume and self.csv.exists():
            self.csv.unlink()
        self.writer = SummaryWriter(str(self.dir / 'tensorboard'))
        table = '\n'.join(f'|{k}|{json.dumps(v)}|' for k, v in sorted(config.items()))
        self.writer.add_text('hyperparameters', f'|setting|value|\n|-|-|\n{table}\n'
                             f'|git|{_git_sha()}|')
        self.writer.add_custom_scalars(LAYOUT)

    def _columns(self, row: dict) -> list:
        # A run resumed by a newer version may log columns the file lacks: widen the file
        # (old rows get empty cells) rather than append rows under the wrong header.
        if not self.csv.exists():
            return list(row)
        with open(self.csv, newline='') as f:
            reader = csv.DictReader(f)
            header = list(reader.fieldnames or [])
            missing = [key for key in row if key not in header]
            if not missing:
                return header
            rows = list(reader)
        fields = header + missing
        with atomic_path(self.csv) as tmp, open(tmp, 'w', newline='') as f:
            writer = csv.DictWriter(f, fieldnames=fields, restval='')
            writer.writeheader()
            writer.writerows(rows)
        return fields

    def write(self, row: dict) -> None:
        """
        Record one iteration.

        :param row: metrics; must hold 'iteration' and 'env_steps'.
        """
        fields = self._columns(row)
        new = not self.csv.exists()
        with open(self.csv, 'a', newline='') as f:
            writer = csv.DictWriter(f, fieldnames=fields, restval='')
            if new:
                writer.writeheader()
            writer.writerow(row)
        step = int(row['env_steps'])
        for key, value in row.items():
            if key in ('iteration', 'env_steps') or not isinstance(value, (int, float)):
                continue
            self.writer.add_scalar(f'{_group(key)}/{key}', value, step)
        self.writer.flush()
        self.plot()

    def histograms(self, values: dict, env_steps: int) -> None:
        """
        Add histograms to TensorBoard (written with the next :meth:`write`).

        :param values: {tag: array of values}.
        :param env_steps: environment steps, the x axis of every chart.
        """
        for tag, array in values.items():
            self.writer.add_histogram(tag, array, int(env_steps))

    def plot(self) -> Path:
        """
        Redraw learning_curves.png from metrics.csv.

        :return: the image path.
        """
        with open(self.csv, newline='') as f:
            rows = list(csv.DictReader(f))
        steps = [int(r['env_steps']) for r in rows]
        panels = [('model_loss', 'prediction loss (MSE)', True),
                  ('policy_distance', 'imagined distance to goal', False),
                  ('val_median_final_distance', 'validation: median final distance', False),
                  ('val_success_rate', 'validation: success rate', False)]
        fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.2))
        for ax, (key, title, log) in zip(axes, panels):
            points = [(s, float(r[key])) for s, r in zip(steps, rows) if r.get(key)]
            if points:
                ax.plot(*zip(*points), marker='.')
            ax.set_title(title, fontsize=10)
            ax.set_xlabel('environment steps')
            if log and points:
                ax.set_yscale('log')
        fig.tight_layout()
        path = self.dir / 'learning_curves.png'
        fig.savefig(path, dpi=90)
        plt.close(fig)
        return path

    def close(self) -> None:
        """Close the TensorBoard writer."""
        self.writer.close()
