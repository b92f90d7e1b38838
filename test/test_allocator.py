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
    for _ in range(3):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        block = torch.ones(12 * 2 ** 20)   # 48 MiB, above glibc's largest mmap threshold
        del block
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    print(faults[-1])
""")


def _faults_of_a_reused_block(mode):
    out = subprocess.run([sys.executable, '-c', CHILD, mode], capture_output=True, text=True,
                         check=True)
    return int(out.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='glibc malloc only')
def test_kept_memory_serves_a_large_block_again_without_page_faults():
    pages = 48 * 2 ** 20 // resource.getpagesize()
    # Default glibc: every 48 MiB block is a fresh mapping, faulted in page by page.
    assert _faults_of_a_reused_block('default') > pages // 2
    # Kept: the third block reuses the heap memory of the first two.
    assert _faults_of_a_reused_block('keep') < pages // 50
