# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Errors of bag reading and conversion: each names the file and the problem."""

from pathlib import Path

PROBLEMS = {
    'missing': 'no such file or folder',
    'not_a_bag': 'not a rosbag2 bag',
    'unfinished': 'recording not finished (no metadata.yaml)',
    'truncated': 'truncated bag',
    'corrupt': 'corrupt bag',
    'missing_topics': 'required topics missing',
    'wrong_type': 'topic has the wrong message type',
    'joint_names': 'joint-name mismatch',
    'bad_message': 'malformed message',
    'too_little_data': 'too little data',
}


class BagError(ValueError):
    """
    A bag that cannot be used, with the file and the kind of problem.

    ``str(error)`` reads ``<path>: <kind description>: <detail>``; ``error.problem`` is one
    of the keys of :data:`PROBLEMS` so that callers can tell the cases apart.
    """

    def __init__(self, path, problem: str, detail: str = ''):
        """
        Describe the problem.

        :param path: the bag (folder or storage file).
        :param problem: a key of :data:`PROBLEMS`.
        :param detail: what exactly is wrong.
        """
        if problem not in PROBLEMS:
            raise ValueError(f'unknown bag problem {problem!r}')
        self.path = Path(path)
        self.problem = problem
        self.detail = detail
        text = f'{self.path}: {PROBLEMS[problem]}'
        super().__init__(f'{text}: {detail}' if detail else text)
