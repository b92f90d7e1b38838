# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""`predctl ablate`: an ablation study, every (setting, seed) a `predctl train` run."""

from predctl_ros.commands import error

HELP = 'run an ablation study (settings x seeds) and summarise it (resumable)'


def add_arguments(parser):
    """
    Declare the arguments of `predctl ablate`.

    :param parser: the subcommand's parser.
    """
    parser.add_argument('--spec', required=True,
                        help='YAML ablation spec (e.g. config/ablation_reach2d.yaml)')
    parser.add_argument('--out', required=True,
                        help='study directory: runs, results.csv, summary.md, ablation.png')
    parser.add_argument('--seeds', type=int, default=3, metavar='N',
                        help='seeds per setting')
    parser.add_argument('--jobs', type=int, default=1, metavar='N',
                        help='training runs in parallel')
    parser.add_argument('--nice', type=int, default=0, metavar='N',
                        help='run the training processes at this niceness increment')
    parser.add_argument('--set', dest='overrides', action='append', default=[],
                        metavar='KEY=VALUE',
                        help="override a setting of every run (before the settings' own)")
    parser.add_argument('--report', action='store_true',
                        help='train nothing: summarise the runs already in --out (unfinished '
                        'ones count as failed)')


def run(args) -> int:
    """
    Train the runs not yet finished, then write the results, summary and plot.

    :param args: parsed arguments.
    :return: 0 when every run finished, 1 when some did not, 2 on a bad spec or option.
    """
    from pathlib import Path
    import shlex
    import sys

    from predctl_ros.learning import ablation, ablation_report
    from predctl_ros.learning.config import load_config

    try:
        spec = ablation.load_spec(args.spec)
        ablation.plan(spec, args.out, args.seeds)
        if args.jobs < 1 or args.nice < 0:
            raise ValueError(f'--jobs must be >= 1 and --nice >= 0, got {args.jobs} and '
                             f'{args.nice}')
        # --set applies to every run: a bad one is refused before the study directory
        # exists, while a setting's own refused overrides fail just that setting's runs.
        load_config(None if spec.config is None else str(spec.config),
                    spec.base + tuple(args.overrides))
    except ValueError as exc:
        return error(args, exc)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = ablation.run_study(spec, out, seeds=args.seeds, jobs=args.jobs, nice=args.nice,
                              extra=args.overrides, log=lambda line: print(line, flush=True),
                              train=not args.report)
    stats = ablation_report.aggregate(spec, rows)
    command = ('' if args.report or sys.argv[1:2] != ['ablate']
               else shlex.join(['predctl'] + sys.argv[1:]))
    for path in (ablation_report.write_results(rows, out / 'results.csv'),
                 ablation_report.write_summary(spec, stats, rows, out / 'summary.md',
                                               command),
                 ablation_report.plot(stats, rows, out / 'ablation.png')):
        print(f'wrote {path}')
    print(ablation_report.summary_table(stats))
    missing = sum(r['status'] != 'ok' for r in rows)
    if missing:
        print(f'{missing} of {len(rows)} runs failed or did not run; see summary.md')
    return 1 if missing else 0
