# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Benchmark our spiking networks against snnTorch, Norse and the dense matmul floor.

Two workloads, every implementation timed the same way in one run:

* BPTT: the Panda prediction network, 15 inputs -> recurrent current-based LIF
  layer of 512 -> feed-forward LIF layer of 512 -> 9 leaky non-spiking readouts,
  batch 64, (5 + 40) control steps x 7 sub-steps = 315 SNN steps, input held for
  the sub-steps of a control step, forward + backward of the MSE of the readout at
  the last sub-step of the 40 predicted control steps against a random target;
  median of ``--bptt-reps`` batches after ``--bptt-warmup`` batches;
* control step: the policy network 12 -> 512 (recurrent) -> 512 -> 6 with adaptive
  LIF neurons, batch 1, 7 sub-steps per control step, one thread, no gradients,
  state carried between control steps; median and p90 over ``--control-steps``
  steps after ``--control-warmup`` steps.

Ours (predctl_ros.snn) is plugged in through two factories (see :func:`load_ours`)::

    build_ours(n_in, hidden, n_out, neuron, rank) -> nn.Module
        forward(x [T_control, B, n_in]) -> [T_control, B, n_out]
    build_ours_policy_stepper(n_in, hidden, n_out) -> object
        step(x [n_in], numpy or torch) -> action [n_out]

Usage::

    python bench/bench_snn.py                      # full run, prints a markdown table
    python bench/bench_snn.py --quick              # smoke test, a few seconds
    python bench/bench_snn.py --write docs/benchmarks.md
    python bench/bench_snn.py --check              # snnTorch / Norse vs reference LIF

A benchmark never fails: errors of one implementation become a table row and the
exit status stays 0.
"""

import argparse
import datetime
import os
import platform
import shlex
import sys
import time
import traceback

import numpy as np
import torch

try:
    from bench import peers
    from bench.report import cpu_model, cpu_ticks, write_section
except ImportError:  # run as a script: bench/ is sys.path[0]
    import peers
    from report import cpu_model, cpu_ticks, write_section

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

N_IN, HIDDEN, N_OUT, BATCH = 15, 512, 9, 64
BURN_IN, CONTROL_STEPS, SUB_STEPS = 5, 40, 7
POLICY_IN, POLICY_OUT = 12, 6
LOW_RANKS = (64, 16)


class _SequenceOutput(torch.nn.Module):
    """Adapt our (outputs, state) forward to the harness's outputs-only forward."""

    def __init__(self, net):
        """
        Wrap a network.

        :param net: a predctl_ros network.
        """
        super().__init__()
        self.net = net

    def forward(self, x):
        """
        Run the sequence from rest.

        :param x: inputs [T, B, n_in].
        :return: outputs [T, B, n_out].
        """
        return self.net(x)[0]

    @property
    def last_rates(self):
        """Return None: firing rates are not tracked in the timed runs."""
        return None


class _Autocast(torch.nn.Module):
    """Run a network under torch.autocast(cpu, bfloat16), as mixed-precision training does."""

    def __init__(self, net):
        """
        Wrap a network.

        :param net: any implementation's module.
        """
        super().__init__()
        self.net = net

    def forward(self, x):
        """
        Run the wrapped network with autocast on; outputs in float32 for the loss.

        :param x: inputs [T, B, n_in].
        :return: outputs [T, B, n_out], float32.
        """
        with torch.autocast('cpu', dtype=torch.bfloat16):
            return self.net(x).float()

    @property
    def last_rates(self):
        """Return the wrapped network's firing rates, if it tracks them."""
        return getattr(self.net, 'last_rates', None)


def keep_freed_memory():
    """
    Keep freed memory in the process, as the trainer does (see predctl_ros.allocator).

    :return: whether the setting is in force.
    """
    if REPO_ROOT not in sys.path:
        sys.path.insert(0, REPO_ROOT)
    try:
        from predctl_ros.allocator import keep_freed_memory as keep
    except ImportError:
        return False
    return keep()


def load_ours():
    """
    Return factories for our prediction network and policy stepper.

    :return: (build_ours, build_ours_policy_stepper), (None, None) when not importable.
    """
    if REPO_ROOT not in sys.path:
        sys.path.insert(0, REPO_ROOT)
    try:
        from predctl_ros.snn import PolicyNet, PredictionNet
    except ImportError as exc:
        print(f'ours: not available ({type(exc).__name__}: {exc})')
        return None, None

    def build_ours(n_in, hidden, n_out, neuron, rank):
        # n_out observations plus n_in - n_out actions, as in the Panda task.
        return _SequenceOutput(PredictionNet(n_out, n_in - n_out, hidden=(hidden, hidden),
                                             neuron=neuron, rank=rank))

    def build_ours_policy_stepper(n_in, hidden, n_out):
        return PolicyNet(9, n_in - 9, n_out, hidden=(hidden, hidden), neuron='alif').stepper()

    return build_ours, build_ours_policy_stepper


def _percentile(values, q):
    """
    Return the q-th percentile of a list of numbers.

    :param values: samples.
    :param q: percentile in [0, 100].
    :return: float percentile, nan for an empty list.
    """
    return float(np.percentile(values, q)) if len(values) else float('nan')


def _steal_note(before):
    """
    Format the share of CPU time stolen by the hypervisor since ``before``.

    :param before: cpu_ticks() at the start.
    :return: e.g. 'steal 12%', '' when nothing was measured.
    """
    after = cpu_ticks()
    return _steal_text(after[0] - before[0], after[1] - before[1])


def _steal_text(stolen, total):
    # 'steal 12%' from tick counts; '' when nothing was measured.
    return f'steal {100.0 * stolen / total:.0f}%' if total > 0 else ''


def _error_row(section, name, exc):
    """
    Turn an exception into a result row and print its traceback.

    :param section: 'bptt' or 'control'.
    :param name: implementation name.
    :param exc: the exception.
    :return: result dict with an error note.
    """
    traceback.print_exc()
    return {'section': section, 'name': name, 'times': [],
            'note': f'error: {type(exc).__name__}: {exc}'[:120]}


def bptt_batch(module, x, target, burn_in):
    """
    Run one training batch: forward, MSE loss, backward.

    :param module: network with forward(x [T, B, n_in]) -> [T, B, n_out].
    :param x: inputs [T_control, B, n_in].
    :param target: targets [T_control - burn_in, B, n_out].
    :param burn_in: leading control steps left out of the loss.
    :return: the output tensor (detached).
    """
    for param in module.parameters():
        param.grad = None
    out = module(x)
    expected = (x.shape[0], x.shape[1], target.shape[-1])
    if tuple(out.shape) != expected:
        raise ValueError(f'output shape {tuple(out.shape)}, expected {expected}')
    loss = torch.nn.functional.mse_loss(out[burn_in:], target)
    loss.backward()
    return out.detach()


def prepare_bptt(name, build, args, x, target):
    """
    Build one implementation and warm it up.

    :param name: implementation name.
    :param build: zero-argument callable returning the module, or a MatmulFloor.
    :param args: parsed command line.
    :param x: inputs.
    :param target: targets.
    :return: (run, obj) with run() timing one batch, or an error row.
    """
    try:
        torch.manual_seed(0)
        obj = build()
        if isinstance(obj, peers.MatmulFloor):
            def run():
                obj.run()
        else:
            def run():
                bptt_batch(obj, x, target, args.burn_in)
        for _ in range(args.bptt_warmup):
            run()
        return run, obj
    except Exception as exc:  # a benchmark never fails
        row = _error_row('bptt', name, exc)
        _print_row(row, 's')
        return row


def time_bptt_interleaved(builds, args, x, target):
    """
    Time BPTT batches of several implementations, one batch of each per round.

    The host's speed drifts from minute to minute; interleaving gives every
    implementation the same conditions, so that their ratios are fair.

    :param builds: list of (name, build) pairs (see prepare_bptt).
    :param args: parsed command line.
    :param x: inputs.
    :param target: targets.
    :return: result dicts in the order of builds.
    """
    prepared = {name: prepare_bptt(name, build, args, x, target) for name, build in builds}
    rows = {name: p for name, p in prepared.items() if isinstance(p, dict)}
    live = {name: p for name, p in prepared.items() if not isinstance(p, dict)}
    times = {name: [] for name in live}
    steal = {name: [0, 0] for name in live}
    for _ in range(args.bptt_reps):
        for name, (run, _) in live.items():
            try:
                ticks = cpu_ticks()
                start = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - start)
                after = cpu_ticks()
                steal[name][0] += after[0] - ticks[0]
                steal[name][1] += after[1] - ticks[1]
            except Exception as exc:  # a benchmark never fails
                rows[name] = _error_row('bptt', name, exc)
                times[name] = None
        live = {name: p for name, p in live.items() if times[name] is not None}
    for name, (_, obj) in live.items():
        note = _steal_text(*steal[name])
        rates = getattr(obj, 'last_rates', None)
        note += f'; rates {rates[0]:.2f}/{rates[1]:.2f}' if rates else ''
        rows[name] = {'section': 'bptt', 'name': name, 'times': times[name], 'note': note}
        _print_row(rows[name], 's')
    return [rows[name] for name, _ in builds]


def time_control(name, build, args, obs):
    """
    Time control steps of one policy stepper at one thread without gradients.

    :param name: implementation name.
    :param build: zero-argument callable returning an object with step(x).
    :param args: parsed command line.
    :param obs: observations [steps, n_in] (numpy float32), cycled.
    :return: result dict with per-step seconds.
    """
    try:
        torch.manual_seed(0)
        stepper = build()
        times, ticks = [], cpu_ticks()
        with torch.no_grad():
            for k in range(args.control_warmup + args.control_steps):
                start = time.perf_counter()
                action = stepper.step(obs[k % len(obs)])
                elapsed = time.perf_counter() - start
                if k >= args.control_warmup:
                    times.append(elapsed)
        if np.asarray(action).shape != (POLICY_OUT,):
            raise ValueError(f'action shape {np.asarray(action).shape}, expected ({POLICY_OUT},)')
        row = {'section': 'control', 'name': name, 'times': times, 'note': _steal_note(ticks)}
    except Exception as exc:  # a benchmark never fails
        row = _error_row('control', name, exc)
    _print_row(row, 'ms')
    return row


def _print_row(row, unit):
    """
    Print one result as it finishes.

    :param row: result dict.
    :param unit: 's' or 'ms'.
    :return: None.
    """
    scale = 1e3 if unit == 'ms' else 1.0
    if row['times']:
        print(f"  {row['section']:8s} {row['name']:28s} median "
              f"{scale * _percentile(row['times'], 50):9.4f} {unit}  p90 "
              f"{scale * _percentile(row['times'], 90):9.4f} {unit}  {row['note']}", flush=True)
    else:
        print(f"  {row['section']:8s} {row['name']:28s} {row['note']}", flush=True)


def run_bptt(args, build_ours):
    """
    Benchmark BPTT for the peers, the matmul floors and ours.

    :param args: parsed command line.
    :param build_ours: our factory or None.
    :return: list of result dicts.
    """
    torch.set_num_threads(args.threads)
    t_ctrl = args.burn_in + args.control_horizon
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(t_ctrl, BATCH, N_IN, generator=gen)
    target = torch.randn(args.control_horizon, BATCH, N_OUT, generator=gen)
    sizes = (N_IN, HIDDEN, N_OUT)
    print(f'BPTT: batch {BATCH}, {t_ctrl} x {SUB_STEPS} = {t_ctrl * SUB_STEPS} SNN steps, '
          f'{args.threads} threads')
    builds = [
        ('snnTorch', lambda: peers.SnnTorchPredictionNet(*sizes, sub_steps=SUB_STEPS)),
        ('Norse', lambda: peers.NorsePredictionNet(*sizes, sub_steps=SUB_STEPS)),
        ('matmul floor', lambda: peers.MatmulFloor(*sizes, BATCH, t_ctrl, SUB_STEPS)),
    ]
    for rank in LOW_RANKS:
        builds.append((f'matmul floor (rank {rank})', lambda rank=rank: (
            peers.MatmulFloor(*sizes, BATCH, t_ctrl, SUB_STEPS, rank=rank))))
    if build_ours is not None:
        for rank in (None,) + LOW_RANKS:
            name = 'ours' if rank is None else f'ours (rank {rank})'
            builds.append((name, lambda rank=rank: build_ours(N_IN, HIDDEN, N_OUT, 'lif', rank)))
    if not args.no_bfloat16:
        # Full rank under torch.autocast(cpu, bfloat16), every implementation alike.
        builds += [(f'{name} (bf16)', lambda build=build: _Autocast(build()))
                   for name, build in builds if name in ('snnTorch', 'Norse', 'ours')]
        builds.append(('matmul floor (bf16)', lambda: peers.MatmulFloor(
            *sizes, BATCH, t_ctrl, SUB_STEPS, dtype=torch.bfloat16)))
    return time_bptt_interleaved(builds, args, x, target)


def run_control(args, build_policy):
    """
    Benchmark one control step of the policy network for the peers, the floor and ours.

    :param args: parsed command line.
    :param build_policy: our policy-stepper factory or None.
    :return: list of result dicts.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    obs = peers.observations(1000, POLICY_IN)
    sizes = (POLICY_IN, HIDDEN, POLICY_OUT)
    print(f'Control step: batch 1, {SUB_STEPS} sub-steps, 1 thread, no grad')
    try:
        rows = [
            time_control('snnTorch', lambda: peers.SnnTorchPolicy(*sizes, SUB_STEPS), args, obs),
            time_control('Norse', lambda: peers.NorsePolicy(*sizes, SUB_STEPS), args, obs),
            time_control('matvec floor', lambda: peers.MatvecFloor(*sizes, SUB_STEPS), args,
                         obs),
        ]
        if build_policy is not None:
            rows.append(time_control('ours', lambda: build_policy(*sizes), args, obs))
    finally:
        torch.set_num_threads(threads)
    return rows


def _median(rows, name):
    """
    Return the median time of the named row, None when missing or failed.

    :param rows: result dicts of one section.
    :param name: implementation name.
    :return: median seconds or None.
    """
    for row in rows:
        if row['name'] == name and row['times']:
            return _percentile(row['times'], 50)
    return None


def _ratio(num, den):
    """
    Format num / den, or a dash when either is missing.

    :param num: numerator or None.
    :param den: denominator or None.
    :return: formatted ratio.
    """
    if num is None or den is None or den == 0:
        return '-'
    return f'{num / den:.2f}x'


def markdown_table(rows):
    """
    Render results as a markdown table with peer / ours and x / floor ratios.

    :param rows: result dicts.
    :return: markdown text.
    """
    lines = ['| Benchmark | Implementation | Median | p90 | n | peer / ours | x / floor | Note |',
             '|---|---|---:|---:|---:|---:|---:|---|']
    for section, unit, scale, label in (('bptt', 's', 1.0, 'BPTT batch'),
                                        ('control', 'ms', 1e3, 'control step')):
        sec = [row for row in rows if row['section'] == section]
        for row in sec:
            name = row['name']
            if not row['times']:
                lines.append(f'| {label} | {name} | - | - | 0 | - | - | {row["note"]} |')
                continue
            med = _percentile(row['times'], 50)
            p90 = _percentile(row['times'], 90)
            # A variant ' (rank 64)' or ' (bf16)' compares with the same variant.
            variant = name[name.index(' ('):] if ' (' in name else ''
            floor_name = ('matmul floor' if section == 'bptt' else 'matvec floor') + variant
            is_floor = name.startswith('mat')
            is_ours = name.startswith('ours')
            vs_ours = '-' if is_floor or is_ours else _ratio(med, _median(sec, 'ours' + variant))
            vs_floor = '-' if is_floor else _ratio(med, _median(sec, floor_name))
            lines.append(f'| {label} | {name} | {scale * med:.4g} {unit} | '
                         f'{scale * p90:.4g} {unit} | {len(row["times"])} | {vs_ours} | '
                         f'{vs_floor} | {row["note"]} |')
    return '\n'.join(lines)


def report(rows, args, command):
    """
    Build the markdown section: setup, the table and notes.

    :param rows: result dicts.
    :param args: parsed command line.
    :param command: the command line used.
    :return: markdown text (without the markers).
    """
    import norse
    import snntorch
    now = datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')
    t_ctrl = args.burn_in + args.control_horizon
    lines = [
        '## SNN benchmark (bench/bench_snn.py)',
        '',
        f'- Command: `{command}`',
        f'- Date: {now}',
        f'- CPU: {cpu_model()}',
        f'- torch {torch.__version__}, snntorch {snntorch.__version__}, '
        f'norse {getattr(norse, "__version__", "?")}, Python {platform.python_version()}',
        f'- Threads: BPTT {args.threads}, control step 1',
        '- Memory: ' + ('freed blocks kept for reuse (`predctl_ros.allocator`, as `predctl '
                        'train` does), for every implementation' if args.kept_memory else
                        'glibc defaults (large blocks returned to the OS on free)'),
        f'- BPTT: {N_IN} -> {HIDDEN} recurrent LIF -> {HIDDEN} LIF -> {N_OUT} leaky readout, '
        f'batch {BATCH}, ({args.burn_in} + {args.control_horizon}) x {SUB_STEPS} = '
        f'{t_ctrl * SUB_STEPS} SNN steps, forward + backward; {args.bptt_reps} batches each after '
        f'{args.bptt_warmup} warm-up, interleaved (each round times one batch of every '
        'implementation, so that all see the same host conditions)',
        f'- Control step: {POLICY_IN} -> {HIDDEN} recurrent ALIF -> {HIDDEN} ALIF -> '
        f'{POLICY_OUT} leaky readout, batch 1, {SUB_STEPS} sub-steps, no grad; '
        f'{args.control_steps} steps after {args.control_warmup} warm-up',
        "- (bf16): the same full-rank network run under `torch.autocast('cpu', "
        "dtype=torch.bfloat16)`, as mixed-precision training does: the peers' nn.Linear "
        'products all run in bfloat16; ours multiplies only spike inputs in bfloat16 (analog '
        'inputs, readout, neuron states and adjoints stay float32); the floor (bf16) has every '
        'operand in bfloat16',
        '- peer / ours: peer median over ours of the same variant (full rank, or bf16); x / '
        'floor: median over the dense matmul (matvec) floor of the same variant; rates: mean '
        'firing rate of the two layers; steal: CPU time taken by the hypervisor while timing '
        '(timings are unreliable when high)',
    ]
    if args.quick:
        lines.append('- **--quick smoke run: shortened sequences, not comparable**')
    if not any(row['name'] == 'ours' for row in rows):
        lines.append('- ours: not available')
    lines += ['', markdown_table(rows)]
    return '\n'.join(lines)


def print_check():
    """
    Print the spike-train comparison of snnTorch and Norse with the reference LIF.

    :return: None.
    """
    print('LIF semantics: reference syn=b_s syn+I; v=b_m mem+(1-b_m) syn; z=H(v-1); '
          f'mem=v-z; b_s={peers.DECAY_SYN}, b_m={peers.DECAY_MEM}')
    for dtype in (torch.float64, torch.float32):
        print(f'  dtype {dtype}')
        for regime, name, bad, total, first, over in peers.check_lif_equivalence(dtype=dtype):
            print(f'    {regime:8s} {name:52s} mismatching spikes {bad:7d} of {total:7d} '
                  f'(first at step {first}); ref post-reset mem > 1: {over}')


def parse_args(argv):
    """
    Parse the command line.

    :param argv: arguments without the program name.
    :return: argparse namespace.
    """
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--quick', action='store_true',
                        help='smoke test: short sequences, one batch, few control steps')
    parser.add_argument('--bptt-reps', type=int, default=7)
    parser.add_argument('--bptt-warmup', type=int, default=2)
    parser.add_argument('--control-steps', type=int, default=1000)
    parser.add_argument('--control-warmup', type=int, default=100)
    parser.add_argument('--burn-in', type=int, default=BURN_IN,
                        help='control steps before the predicted ones')
    parser.add_argument('--control-horizon', type=int, default=CONTROL_STEPS,
                        help='predicted control steps in the loss')
    parser.add_argument('--threads', type=int, default=torch.get_num_threads(),
                        help='torch threads for BPTT (the control step always uses 1)')
    parser.add_argument('--only', choices=('all', 'bptt', 'control'), default='all')
    parser.add_argument('--no-ours', action='store_true', help='benchmark the peers only')
    parser.add_argument('--no-bfloat16', action='store_true',
                        help='leave out the BPTT rows under torch.autocast(cpu, bfloat16)')
    parser.add_argument('--os-allocator', action='store_true',
                        help='leave glibc returning large freed blocks to the OS (as a plain '
                             'process does) instead of keeping them for reuse, for every '
                             'implementation')
    parser.add_argument('--check', action='store_true',
                        help='compare snnTorch/Norse spike trains with the reference LIF')
    parser.add_argument('--write', metavar='FILE',
                        help='replace the bench_snn section of this markdown file')
    args = parser.parse_args(argv)
    if args.quick:
        args.bptt_reps, args.bptt_warmup = 1, 1
        args.burn_in, args.control_horizon = 1, 3
        args.control_steps, args.control_warmup = 20, 5
    return args


def main(argv=None, build_ours=None, build_ours_policy_stepper=None, command=None):
    """
    Run the benchmark; factories passed here take precedence over the import.

    :param argv: arguments without the program name (default sys.argv[1:]).
    :param build_ours: optional factory of our prediction network.
    :param build_ours_policy_stepper: optional factory of our policy stepper.
    :param command: command line to record (default the actual one).
    :return: exit status, always 0.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    if command is None:
        command = shlex.join(['python', os.path.relpath(sys.argv[0])] + argv)
    args.kept_memory = not args.os_allocator and keep_freed_memory()
    if args.check:
        print_check()
    if args.no_ours:
        print('ours: not available (--no-ours)')
    elif build_ours is None and build_ours_policy_stepper is None:
        build_ours, build_ours_policy_stepper = load_ours()
    rows = []
    if args.only in ('all', 'bptt'):
        rows += run_bptt(args, None if args.no_ours else build_ours)
    if args.only in ('all', 'control'):
        rows += run_control(args, None if args.no_ours else build_ours_policy_stepper)
    body = report(rows, args, command)
    print()
    print(body)
    if args.write:
        write_section(args.write, 'bench_snn', body)
        print(f'\nwrote {args.write}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
