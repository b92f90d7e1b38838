# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Report of an ablation study: per-run CSV, per-setting summary table and plot.

Each setting's metrics are summarised as mean +- sample standard deviation over its
finished seeds, and compared with the baseline: a difference counts as an effect only
when it exceeds twice its standard error, sqrt(s_a^2 / n_a + s_b^2 / n_b); smaller
differences are reported as within the seed spread.
"""

import csv
import math
from pathlib import Path
from typing import List, Sequence

import matplotlib
matplotlib.use('Agg')  # noqa: E402 - headless: choose the backend before pyplot
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402
from predctl_ros.learning.ablation import AblationSpec, LOSS_WINDOW, Setting  # noqa: E402

COLUMNS = ('setting', 'seed', 'status', 'skipped', 'returncode', 'wall_s', 'iterations',
           'test_success_rate', 'test_median_final_distance', 'test_mean_final_distance',
           'test_median_min_distance', 'model_loss_last3', 'imitation_loss', 'error',
           'run_dir')
# (column, label, higher is better)
METRICS = (('test_success_rate', 'test success rate', True),
           ('test_median_final_distance', 'test median final distance', False),
           ('model_loss_last3', f'P loss (mean of last {LOSS_WINDOW} iterations)', False))
POLICY_METRIC = 'test_median_final_distance'
MODEL_METRIC = 'model_loss_last3'
# Expected effect of a setting on performance, from the article's verdict on the option
# it switches and whether it switches it on or off.
EXPECTED = {('helps', 'off'): 'worse', ('helps', 'on'): 'better',
            ('hurts or neutral', 'on'): 'not better', ('hurts or neutral', 'off'): 'not worse'}


def mean_std(values: Sequence[float]) -> tuple:
    """
    Return the mean and sample standard deviation of the finite values.

    :param values: numbers (NaN ignored).
    :return: (mean, std, n); NaN where undefined (std needs two values).
    """
    xs = [float(v) for v in values if not math.isnan(float(v))]
    n = len(xs)
    if not n:
        return math.nan, math.nan, 0
    mean = sum(xs) / n
    std = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1)) if n > 1 else math.nan
    return mean, std, n


def compare(setting: dict, baseline: dict, metric: str, higher_better: bool) -> dict:
    """
    Compare a setting's metric with the baseline's.

    :param setting: aggregate of the setting (see aggregate).
    :param baseline: aggregate of the baseline.
    :param metric: column name.
    :param higher_better: whether larger values are better.
    :return: dict delta (setting - baseline), se (of the delta), effect ('better',
        'worse', 'within spread' or 'n/a' with fewer than two seeds on either side).
    """
    a, b = setting[metric], baseline[metric]
    delta = a['mean'] - b['mean']
    if a['n'] < 2 or b['n'] < 2:
        return {'delta': delta, 'se': math.nan, 'effect': 'n/a'}
    se = math.sqrt(a['std'] ** 2 / a['n'] + b['std'] ** 2 / b['n'])
    if abs(delta) <= 2 * se or delta == 0:
        effect = 'within spread'
    else:
        effect = 'better' if (delta > 0) == higher_better else 'worse'
    return {'delta': delta, 'se': se, 'effect': effect}


def agreement(expected: str, effect: str) -> str:
    """
    Judge an observed effect against the article's expected one.

    :param expected: 'worse', 'better', 'not better' or 'not worse'.
    :param effect: 'better', 'worse', 'within spread' or 'n/a'.
    :return: 'agrees', 'disagrees', 'consistent (no clear effect)', 'not shown' or 'n/a'.
    """
    if effect == 'n/a':
        return 'n/a'
    if expected in ('worse', 'better'):
        if effect == 'within spread':
            return 'not shown'
        return 'agrees' if effect == expected else 'disagrees'
    opposite = 'better' if expected == 'not better' else 'worse'
    if effect == opposite:
        return 'disagrees'
    return 'consistent (no clear effect)' if effect == 'within spread' else 'agrees'


def aggregate(spec: AblationSpec, rows: List[dict]) -> List[dict]:
    """
    Summarise the finished runs of each setting and compare them with the baseline.

    :param spec: the study.
    :param rows: one row per run (ablation.collect).
    :return: per setting: setting, n (finished), failed, not_run, each metric's
        {mean, std, n}, and for the others than the baseline 'policy' and 'model'
        comparisons with 'agrees' verdicts.
    """
    stats = []
    for setting in spec.settings:
        mine = [r for r in rows if r['setting'] == setting.name]
        ok = [r for r in mine if r['status'] == 'ok']
        entry = {'setting': setting, 'n': len(ok),
                 'failed': sum(r['status'] == 'failed' for r in mine),
                 'not_run': sum(r['status'] == 'not run' for r in mine),
                 'wall_s': sum(float(r['wall_s']) for r in mine)}
        for metric, _, _ in METRICS:
            mean, std, n = mean_std([r[metric] for r in ok])
            entry[metric] = {'mean': mean, 'std': std, 'n': n}
        stats.append(entry)
    base = stats[0]
    for entry in stats[1:]:
        setting = entry['setting']
        expected = EXPECTED.get((setting.article, setting.switch))
        for key, metric in (('policy', POLICY_METRIC), ('model', MODEL_METRIC)):
            if base[metric]['n'] == 0 or entry[metric]['n'] == 0:
                continue
            result = compare(entry, base, metric, higher_better=False)
            result['agrees'] = agreement(expected, result['effect']) if expected else '-'
            entry[key] = result
    return stats


def write_results(rows: List[dict], path) -> Path:
    """
    Write one CSV row per run.

    :param rows: rows of ablation.collect.
    :param path: CSV file.
    :return: the path.
    """
    path = Path(path)
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction='ignore')
        writer.writeheader()
        writer.writerows(rows)
    return path


def _pm(stat: dict, fmt: str) -> str:
    if stat['n'] == 0:
        return '-'
    if math.isnan(stat['std']):
        return format(stat['mean'], fmt)
    return f"{format(stat['mean'], fmt)} ± {format(stat['std'], fmt)}"


def _delta(entry: dict, key: str, fmt: str) -> str:
    result = entry.get(key)
    if result is None:
        return '-'
    se = '' if math.isnan(result['se']) else f" (2 SE {format(2 * result['se'], fmt)})"
    return f"{format(result['delta'], '+' + fmt)}{se}: {result['effect']}"


def _article(setting: Setting) -> str:
    if setting.article is None:
        return '-'
    action = 'removes' if setting.switch == 'off' else 'adds'
    return f'{setting.article} ({action} it)'


def summary_table(stats: List[dict]) -> str:
    """
    Return the markdown table of the study.

    :param stats: output of aggregate.
    :return: markdown text.
    """
    lines = ['| setting | description | article: the option | n seeds | success | '
             f'median final dist. | P loss (last {LOSS_WINDOW} it.) | Δ median final dist. '
             'vs baseline | Δ P loss vs baseline | agrees with article? (π / P) |',
             '|---|---|---|---:|---:|---:|---:|---|---|---|']
    for entry in stats:
        setting = entry['setting']
        notes = [f"{entry[k]} {k.replace('_', ' ')}" for k in ('failed', 'not_run') if entry[k]]
        n = f"{entry['n']}" + (f" ({', '.join(notes)})" if notes else '')
        verdict = '-'
        if 'policy' in entry or 'model' in entry:
            verdict = ' / '.join(entry[k]['agrees'] if k in entry else '-'
                                 for k in ('policy', 'model'))
        lines.append(
            f'| {setting.name} | {setting.description} | {_article(setting)} | {n} | '
            f"{_pm(entry['test_success_rate'], '.0%')} | "
            f"{_pm(entry['test_median_final_distance'], '.3f')} | "
            f"{_pm(entry['model_loss_last3'], '.2e')} | "
            f"{_delta(entry, 'policy', '.3f')} | {_delta(entry, 'model', '.2e')} | "
            f'{verdict} |')
    return '\n'.join(lines) + '\n'


def write_summary(spec: AblationSpec, stats: List[dict], rows: List[dict], path,
                  command: str = '') -> Path:
    """
    Write summary.md: the protocol, the table and the failed runs.

    :param spec: the study.
    :param stats: output of aggregate.
    :param rows: rows of ablation.collect.
    :param path: markdown file.
    :param command: the command line that ran the study (recorded when given).
    :return: the path.
    """
    seeds = sorted({r['seed'] for r in rows})
    text = ['# Ablation study', '']
    if command:
        text += ['```', command, '```', '']
    total_min = sum(float(r['wall_s']) for r in rows) / 60
    text += [f'Base config: `{spec.config}`; base overrides: '
             f"`{' '.join(spec.base) or '-'}`; seeds {seeds}; "
             f'training time summed over runs: {total_min:.1f} min.', '',
             'Mean ± sample std over the finished seeds; success and distance on the '
             "task's fixed test set after the last iteration. An effect counts when the "
             'difference to the baseline exceeds twice its standard error; otherwise it is '
             "within the seed spread. 'agrees with article' compares the effect with the "
             'direction the article reports for the option (π: median final distance, P: '
             'prediction loss).', '', summary_table(stats)]
    failed = [r for r in rows if r['status'] == 'failed']
    if failed:
        text += ['## Failed runs', '']
        text += [f"- {r['setting']} seed {r['seed']}: {r['error']}" for r in failed]
        text.append('')
    path = Path(path)
    path.write_text('\n'.join(text))
    return path


def plot(stats: List[dict], rows: List[dict], path) -> Path:
    """
    Draw each setting's seeds and mean ± std per metric, the baseline mean as a line.

    :param stats: output of aggregate.
    :param rows: rows of ablation.collect.
    :param path: image file.
    :return: the path.
    """
    names = [entry['setting'].name for entry in stats]
    ys = list(range(len(names)))[::-1]
    size = (4.2 * len(METRICS), 0.9 + 0.42 * len(names))
    fig, axes = plt.subplots(1, len(METRICS), figsize=size, sharey=True)
    for ax, (metric, label, higher_better) in zip(axes, METRICS):
        for y, entry in zip(ys, stats):
            seeds = [r[metric] for r in rows
                     if r['setting'] == entry['setting'].name and r['status'] == 'ok']
            ax.plot(seeds, [y] * len(seeds), 'o', color='0.6', markersize=4, zorder=2)
            stat = entry[metric]
            if stat['n']:
                std = 0.0 if math.isnan(stat['std']) else stat['std']
                ax.errorbar(stat['mean'], y, xerr=std, fmt='D', color='C0' if y != ys[0]
                            else 'C3', capsize=4, zorder=3)
        base = stats[0][metric]['mean']
        if not math.isnan(base):
            ax.axvline(base, color='C3', linestyle='--', linewidth=1, zorder=1)
        if metric == MODEL_METRIC:
            ax.set_xscale('log')
        elif metric == 'test_success_rate':
            ax.xaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_title(f"{label}\n({'higher' if higher_better else 'lower'} is better)",
                     fontsize=10)
        ax.grid(axis='x', alpha=0.3)
    axes[0].set_yticks(ys)
    axes[0].set_yticklabels(names)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
