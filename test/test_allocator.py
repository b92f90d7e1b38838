# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The trainer's malloc setting: large freed blocks are reused without page faults."""

import resource
import subprocess
import sys
import textwrap

import pytest

# A child process, so that the setting does not leak into the test session.  The block is
# a torch tensor as in training: numpy asks for huge pages on large arrays, hiding faults.
CHILD = textwrap.dedent("""
    import resource, sys
    import torch
    from predctl_ros.allocator import keep_freed_memory
    if sys.argv[1] == 'keep':
        assert keep_freed_memory() and keep_freed_memory()
    faults = []
    for _ in range(30):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        block = torch.ones(12 * 2 ** 20)   # 48 MiB, above glibc's largest mmap threshold
        del block
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    print(min(faults[-10:]), sum(faults[-10:]))
""")


def _faults_of_reused_blocks(mode):
    # (fewest, total) page faults of the last 10 of 30 allocations of the same block.
    out = subprocess.run([sys.executable, '-c', CHILD, mode], capture_output=True, text=True,
                         check=True)
    fewest, total = out.stdout.split()[-2:]
    return int(fewest), int(total)


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='glibc malloc only')
def test_kept_memory_serves_a_large_block_again_without_page_faults():
    pages = 48 * 2 ** 20 // resource.getpagesize()
    # Default glibc: every 48 MiB block is a fresh mapping, faulted in page by page.
    assert _faults_of_reused_blocks('default')[0] > pages // 2
    # Kept: after a warm-up (torch's aligned blocks do not fit the first holes; the heap
    # grows to a few blocks) the same memory serves every allocation.
    assert _faults_of_reused_blocks('keep')[1] < pages // 50
