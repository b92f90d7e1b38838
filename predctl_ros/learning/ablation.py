# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Ablation studies: train every (setting, seed) of a spec in its own process, then collect.

A spec is a YAML file naming a base training config, overrides applied to every run and
a list of settings, each a list of ``key=value`` overrides (as for
``learning.config.load_config``) with the direction the article reports for the option
it switches::

    config: train_reach2d_dagger_vel.yaml   # relative to the spec file
    base: [iterations=12, envs=16]
    settings:
      - name: baseline
        description: ALIF, learnable tau, rank 32
      - name: fixed_tau
        description: fixed time constants
        switch: 'off'        # the setting turns the option off ('on': turns it on)
        article: helps       # or 'hurts or neutral'
        overrides: [model.learn_tau=false, policy.learn_tau=false]

The first setting is the baseline the others are compared with.  Each run is a
``predctl train`` subprocess writing to ``<out>/<setting>/seed<k>/`` (its output in
``train.log``), so a crash or a refused setting fails that run only.  Started again
with the same overrides, a study skips finished runs and resumes interrupted ones.
"""

from concurrent.futures import ThreadPoolExecutor
import csv
from dataclasses import dataclass
import json
import math
from pathlib import Path
import re
import shutil
import subprocess
import sys
import time
from typing import Callable, List, Optional, Sequence, Tuple

from predctl_ros.learning.config import load_config
import yaml

ARTICLE = ('helps', 'hurts or neutral')
SWITCHES = ('on', 'off')
RUN_FILE = 'ablation_run.json'
LOG_FILE = 'train.log'
NAME = re.compile(r'^[A-Za-z0-9_.-]+$')
# model_loss is averaged over the last iterations: one iteration's loss is too noisy.
LOSS_WINDOW = 3


@dataclass(frozen=True)
class Setting:
    """One configuration of the study: overrides and what the article says about it."""

    name: str
    """Identifier (also the folder of its runs)."""
    description: str
    """Short human-readable description."""
    overrides: Tuple[str, ...] = ()
    """``key=value`` overrides on top of the base."""
    article: Optional[str] = None
    """The article's verdict on the option switched: 'helps', 'hurts or neutral' or None."""
    switch: Optional[str] = None
    """Whether the setting turns the option 'on' or 'off' against the baseline."""


@dataclass(frozen=True)
class AblationSpec:
    """A study: base config, base overrides and settings (the first is the baseline)."""

    config: Optional[Path]
    """Base training config file (None: TrainConfig defaults)."""
    base: Tuple[str, ...]
    """Overrides applied to every run before the setting's own."""
    settings: Tuple[Setting, ...]
    """The settings, baseline first."""

    @property
    def baseline(self) -> Setting:
        """Return the setting the others are compared with."""
        return self.settings[0]


@dataclass(frozen=True)
class Run:
    """One training run of the study."""

    setting: Setting
    """Its setting."""
    seed: int
    """Its seed."""
    out: Path
    """Its run directory."""
    overrides: Tuple[str, ...]
    """All overrides passed to `predctl train`, in order."""


def _overrides(value, where: str) -> Tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and '=' in v for v in value):
        raise ValueError(f'{where}: expected a list of key=value strings, got {value!r}')
    return tuple(value)


def load_spec(path) -> AblationSpec:
    """
    Read and check an ablation spec.

    :param path: YAML file.
    :return: the spec; the base config's path is resolved against the spec's folder.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f'{path}: cannot read ablation spec ({exc})') from exc
    if not isinstance(data, dict):
        raise ValueError(f'{path}: expected a mapping')
    unknown = sorted(set(data) - {'config', 'base', 'settings'})
    if unknown:
        raise ValueError(f'{path}: unknown keys {unknown}')
    config = None
    if data.get('config') is not None:
        config = (path.parent / str(data['config'])).resolve()
        if not config.is_file():
            raise ValueError(f'{path}: base config {config} not found')
    entries = data.get('settings')
    if not isinstance(entries, list) or not entries:
        raise ValueError(f'{path}: expected a non-empty list of settings')
    settings = []
    for i, entry in enumerate(entries):
        where = f'{path}: setting {i + 1}'
        if not isinstance(entry, dict):
            raise ValueError(f'{where}: expected a mapping')
        unknown = sorted(set(entry) - {'name', 'description', 'overrides', 'article',
                                       'switch'})
        if unknown:
            raise ValueError(f'{where}: unknown keys {unknown}')
        name = str(entry.get('name', ''))
        if not NAME.match(name):
            raise ValueError(f'{where}: name {name!r} must be letters, digits, _ . -')
        article, switch = entry.get('article'), entry.get('switch')
        if article is not None and article not in ARTICLE:
            raise ValueError(f'{where}: article must be one of {ARTICLE}, got {article!r}')
        if switch is not None and switch not in SWITCHES:
            raise ValueError(f'{where}: switch must be one of {SWITCHES}, got {switch!r}')
        if (article is None) != (switch is None):
            raise ValueError(f'{where}: give both article and switch, or neither')
        settings.append(Setting(name, str(entry.get('description', '')),
                                _overrides(entry.get('overrides'), where), article, switch))
    names = [s.name for s in settings]
    if len(set(names)) != len(names):
        raise ValueError(f'{path}: setting names repeat: {names}')
    return AblationSpec(config, _overrides(data.get('base'), f'{path}: base'),
                        tuple(settings))


def plan(spec: AblationSpec, out, seeds: int, extra: Sequence[str] = ()) -> List[Run]:
    """
    List the runs of a study, seed by seed, so that a cut-short study covers every setting.

    :param spec: the study.
    :param out: study directory.
    :param seeds: seeds per setting (0 .. seeds - 1).
    :param extra: overrides for every run, after the base and before the setting's.
    :return: runs in launch order.
    """
    if seeds < 1:
        raise ValueError(f'seeds must be >= 1, got {seeds}')
    out = Path(out)
    return [Run(s, seed, out / s.name / f'seed{seed}',
                spec.base + tuple(extra) + s.overrides + (f'seed={seed}',))
            for seed in range(seeds) for s in spec.settings]


def _record(run: Run) -> dict:
    try:
        return json.loads((run.out / RUN_FILE).read_text())
    except (OSError, ValueError):
        return {}


def _same_run(run: Run, config: Optional[Path], record: dict) -> bool:
    return (record.get('overrides') == list(run.overrides)
            and record.get('config') == (None if config is None else str(config)))


def _rows(run: Run) -> List[dict]:
    try:
        with open(run.out / 'metrics.csv', newline='') as f:
            return list(csv.DictReader(f))
    except OSError:
        return []


def is_finished(run: Run, config: Optional[Path]) -> bool:
    """
    Tell whether a run's directory holds a finished run of the same overrides.

    :param run: the run.
    :param config: the base config file of the study.
    :return: True when its metrics reach the configured number of iterations.
    """
    if not _same_run(run, config, _record(run)):
        return False
    try:
        iterations = json.loads((run.out / 'config.json').read_text())['iterations']
    except (OSError, ValueError, KeyError):
        return False
    rows = _rows(run)
    return bool(rows) and rows[-1].get('iteration') == str(iterations)


def train_command(run: Run, config: Optional[Path], nice: int = 0,
                  resume: bool = False) -> List[str]:
    """
    Return the command line that trains one run.

    :param run: the run.
    :param config: base config file.
    :param nice: niceness increment (0: none).
    :param resume: continue the run from its saved state.
    :return: argv list.
    """
    cmd = [sys.executable, '-m', 'predctl_ros.cli', 'train', '--out', str(run.out)]
    if config is not None:
        cmd += ['--config', str(config)]
    for item in run.overrides:
        cmd += ['--set', item]
    if resume:
        cmd.append('--resume')
    if nice:
        nice_bin = shutil.which('nice')
        if nice_bin is None:
            raise ValueError('--nice needs the nice program, which is not on PATH')
        cmd = [nice_bin, '-n', str(nice)] + cmd
    return cmd


def _last_line(path: Path) -> str:
    try:
        lines = [line.strip() for line in path.read_text(errors='replace').splitlines()]
    except OSError:
        return ''
    lines = [line for line in lines if line]
    return lines[-1][:300] if lines else ''


def execute(run: Run, config: Optional[Path], nice: int = 0) -> dict:
    """
    Train one run in a subprocess (resuming it when a same-override attempt was cut short).

    :param run: the run.
    :param config: base config file.
    :param nice: niceness increment.
    :return: the run's record: overrides, returncode, wall_s (all attempts), error.
    """
    run.out.mkdir(parents=True, exist_ok=True)
    previous = _record(run)
    resume = _same_run(run, config, previous) and (run.out / 'state.pt').is_file()
    spent = float(previous.get('wall_s', 0.0)) if resume else 0.0
    record = {'setting': run.setting.name, 'seed': run.seed, 'overrides': list(run.overrides),
              'config': None if config is None else str(config), 'returncode': None,
              'wall_s': spent, 'error': ''}
    (run.out / RUN_FILE).write_text(json.dumps(record, indent=2))
    t0 = time.monotonic()
    with open(run.out / LOG_FILE, 'a' if resume else 'w') as log:
        try:
            # A refused setting fails here in milliseconds instead of after a process start.
            load_config(None if config is None else str(config), run.overrides)
            code = subprocess.run(train_command(run, config, nice, resume), stdout=log,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL).returncode
            error = ''
        except (OSError, ValueError) as exc:
            code = 2 if isinstance(exc, ValueError) else -1   # 2: as `predctl train`
            print(f'error: {exc}', file=log)
    if code:
        error = _last_line(run.out / LOG_FILE)
    record.update(returncode=code, wall_s=spent + time.monotonic() - t0, error=error)
    (run.out / RUN_FILE).write_text(json.dumps(record, indent=2))
    return record


def _float(text) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def collect(run: Run, config: Optional[Path], record: dict, skipped: bool) -> dict:
    """
    Return a run's row of results: its final test metrics and its late prediction loss.

    :param run: the run.
    :param config: base config file.
    :param record: the run's record (from execute or the run's folder).
    :param skipped: whether this invocation reused a finished run.
    :return: row dict; status 'ok', 'failed' or 'not run' (NaN for metrics it lacks).
    """
    rows = _rows(run)
    last = rows[-1] if rows else {}
    losses = [_float(r.get('model_loss')) for r in rows[-LOSS_WINDOW:]]
    code = record.get('returncode')
    if is_finished(run, config) and code in (0, None):
        status, error = 'ok', ''
    elif code is None:   # never started, still running or killed with this process
        status, error = 'not run', ''
    else:
        status, error = 'failed', record.get('error') or 'no finished metrics.csv'
    return {'setting': run.setting.name, 'seed': run.seed, 'status': status,
            'skipped': skipped, 'returncode': record.get('returncode'),
            'wall_s': round(float(record.get('wall_s') or 0.0), 1),
            'iterations': last.get('iteration', ''),
            'test_success_rate': _float(last.get('test_success_rate')),
            'test_median_final_distance': _float(last.get('test_median_final_distance')),
            'test_mean_final_distance': _float(last.get('test_mean_final_distance')),
            'test_median_min_distance': _float(last.get('test_median_min_distance')),
            'model_loss_last3': sum(losses) / len(losses) if losses else math.nan,
            'imitation_loss': _float(last.get('imitation_loss')),
            'error': error, 'run_dir': str(run.out)}


def run_study(spec: AblationSpec, out, seeds: int = 3, jobs: int = 1, nice: int = 0,
              extra: Sequence[str] = (), log: Callable[[str], None] = print,
              train: bool = True) -> List[dict]:
    """
    Train every (setting, seed) not yet finished, `jobs` at a time, and collect all.

    :param spec: the study.
    :param out: study directory.
    :param seeds: seeds per setting.
    :param jobs: runs in parallel.
    :param nice: niceness increment of the training processes.
    :param extra: overrides for every run (after the base, before the setting's).
    :param log: line printer.
    :param train: False collects what is there without training (e.g. while a study runs).
    :return: one row per run, in plan order (see collect).
    """
    if jobs < 1:
        raise ValueError(f'jobs must be >= 1, got {jobs}')
    runs = plan(spec, out, seeds, extra)
    done = {id(r) for r in runs if is_finished(r, spec.config) or not train}
    todo = [r for r in runs if id(r) not in done]
    if train:
        log(f'{len(runs)} runs: {len(done)} already finished, {len(todo)} to train '
            f'({jobs} at a time)')
    records = {id(r): _record(r) for r in runs if id(r) in done}
    counter = iter(range(1, len(todo) + 1))

    def one(run):
        record = execute(run, spec.config, nice)
        row = collect(run, spec.config, record, skipped=False)
        result = (f"success {row['test_success_rate']:.0%}, median final distance "
                  f"{row['test_median_final_distance']:.3f}" if row['status'] == 'ok'
                  else f"FAILED: {row['error']}")
        log(f'[{next(counter)}/{len(todo)}] {run.setting.name} seed {run.seed}: {result} '
            f"({row['wall_s']:.0f} s)")
        return row

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        fresh = dict(zip(map(id, todo), pool.map(one, todo)))
    return [fresh[id(r)] if id(r) in fresh else
            collect(r, spec.config, records[id(r)], skipped=True) for r in runs]
