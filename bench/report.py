# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Shared plumbing of the benchmark scripts: machine facts and markdown sections."""

import os
import platform


def cpu_ticks():
    """
    Return the (steal, total) CPU ticks from /proc/stat, (0, 0) where unavailable.

    :return: tuple of ints.
    """
    try:
        with open('/proc/stat') as handle:
            fields = [int(v) for v in handle.readline().split()[1:]]
        return (fields[7] if len(fields) > 7 else 0), sum(fields)
    except (OSError, ValueError):
        return 0, 0


def cpu_model():
    """
    Return the CPU model name and the number of logical CPUs.

    :return: description string.
    """
    name = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as handle:
            for line in handle:
                if line.startswith('model name'):
                    name = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    return f'{name}, {os.cpu_count()} logical CPUs'


def write_section(path, name, body):
    """
    Replace the text between the `name` markers of a markdown file.

    Creates the file, or appends the section, when missing; other sections stay.

    :param path: markdown file.
    :param name: section name; markers are <!-- name:start --> and <!-- name:end -->.
    :param body: new content between the markers.
    """
    mark_start, mark_end = f'<!-- {name}:start -->', f'<!-- {name}:end -->'
    block = f'{mark_start}\n{body}\n{mark_end}'
    text = ''
    if os.path.exists(path):
        with open(path) as handle:
            text = handle.read()
    start, end = text.find(mark_start), text.find(mark_end)
    if start >= 0 and end > start:
        text = text[:start] + block + text[end + len(mark_end):]
    else:
        if not text:
            text = '# Benchmarks\n'
        text = text.rstrip('\n') + '\n\n' + block + '\n'
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, 'w') as handle:
        handle.write(text)
