# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Bad bags give errors that name the file and the problem; good ones still load."""

import os
from pathlib import Path
import shutil

import bag_factory as bf
from predctl_ros import bags, envs
import pytest


@pytest.fixture(scope='module')
def run():
    return bf.rollout(60, {0: [0.5, 0.0, 0.4]})


@pytest.fixture(scope='module')
def task():
    return envs.make_task('panda_reach')


@pytest.fixture(scope='module')
def good(tmp_path_factory, run):
    root = tmp_path_factory.mktemp('good')
    return {storage: bf.write_bag(root / storage, bf.messages(run), storage)
            for storage in ('mcap', 'sqlite3')}


def _only_error(paths, task, **options):
    options.setdefault('min_steps', 10)
    load = bags.load_bags(paths, task, bags.ConvertOptions(**options))
    assert load.episodes == [] and len(load.errors) == 1, load
    return load.errors[0]


def _storage_file(bag: Path) -> Path:
    (path,) = [p for p in bag.iterdir() if p.suffix in ('.mcap', '.db3')]
    return path


def _copy(bag, tmp_path):
    return Path(shutil.copytree(bag, tmp_path / f'copy_{bag.name}'))


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
def test_truncated_bag(tmp_path, good, task, storage):
    bag = _copy(good[storage], tmp_path)
    data = _storage_file(bag).read_bytes()
    _storage_file(bag).write_bytes(data[:len(data) // 2])
    error = _only_error([bag], task)
    assert error.problem == 'truncated', str(error)
    assert str(bag) in str(error)


def test_corrupt_bag(tmp_path, good, task):
    bag = _copy(good['mcap'], tmp_path)
    _storage_file(bag).write_bytes(os.urandom(4096))
    error = _only_error([bag], task)
    assert error.problem == 'corrupt' and str(error).startswith(str(bag))


def test_missing_and_unfinished_and_not_a_bag(tmp_path, good, task):
    assert _only_error([tmp_path / 'nope'], task).problem == 'missing'
    bag = _copy(good['mcap'], tmp_path)
    (bag / 'metadata.yaml').unlink()
    error = _only_error([bag], task)
    assert error.problem == 'unfinished' and 'metadata.yaml' in str(error)
    (tmp_path / 'empty').mkdir()
    assert _only_error([tmp_path / 'empty'], task).problem == 'not_a_bag'
    text = tmp_path / 'notes.txt'
    text.write_text('hello')
    assert _only_error([text], task).problem == 'not_a_bag'


def test_storage_file_alone_reads(good, task):
    load = bags.load_bags([_storage_file(good['mcap'])], task,
                          bags.ConvertOptions(min_steps=10))
    assert load.errors == [] and load.summaries[0].steps == 60


def test_missing_topics(tmp_path, run, task):
    items = [i for i in bf.messages(run) if i[0] != '/effort_controller/commands']
    error = _only_error([bf.write_bag(tmp_path / 'a', items)], task)
    assert error.problem == 'missing_topics'
    assert '/effort_controller/commands' in str(error) and '/joint_states' in str(error)
    items = [i for i in bf.messages(run) if i[0] != '/active_target']
    error = _only_error([bf.write_bag(tmp_path / 'b', items)], task)
    assert error.problem == 'missing_topics'
    assert '/active_target or /goal_pose or /clicked_point' in str(error)


def test_wrong_type(tmp_path, run, task):
    items = [i if i[0] != '/active_target' else
             (i[0], 'geometry_msgs/msg/PoseStamped', bf.pose(0, [0.5, 0.0, 0.4]), i[3])
             for i in bf.messages(run)]
    error = _only_error([bf.write_bag(tmp_path / 'bag', items)], task)
    assert error.problem == 'wrong_type'
    assert 'geometry_msgs/msg/PoseStamped' in str(error) and '/active_target' in str(error)


def test_joint_name_mismatch(tmp_path, run, task):
    names = list(bf.JOINTS[:6]) + ['other_joint']
    error = _only_error([bf.write_bag(tmp_path / 'a', bf.messages(run, names=names))], task)
    assert error.problem == 'joint_names' and 'panda_joint7' in str(error)
    names = [f'fer_joint{i}' for i in range(1, 8)]
    error = _only_error([bf.write_bag(tmp_path / 'b', bf.messages(run, names=names))], task)
    assert error.problem == 'joint_names' and 'fer_joint1' in str(error)


def test_command_of_wrong_size(tmp_path, run, task):
    items = [i if i[0] != '/effort_controller/commands' else
             (i[0], i[1], bf.command([1.0, 2.0]), i[3]) for i in bf.messages(run)]
    error = _only_error([bf.write_bag(tmp_path / 'bag', items)], task)
    assert error.problem == 'joint_names' and '[2]' in str(error)


def test_too_little_data(good, task):
    error = _only_error([good['mcap']], task, min_steps=100)
    assert error.problem == 'too_little_data' and '100' in str(error)


def test_goal_in_unaccepted_frame(tmp_path, run, task):
    items = [i if i[0] != '/active_target' else
             (i[0], i[1], bf.point(0, [0.5, 0.0, 0.4], frame='camera'), i[3])
             for i in bf.messages(run)]
    error = _only_error([bf.write_bag(tmp_path / 'bag', items)], task)
    assert error.problem == 'too_little_data' and 'accepted frame' in str(error)


def test_other_bags_still_load(tmp_path, good, task):
    broken = _copy(good['mcap'], tmp_path)
    _storage_file(broken).write_bytes(b'garbage')
    load = bags.load_bags([good['mcap'], broken, tmp_path / 'nope', good['sqlite3']], task,
                          bags.ConvertOptions(min_steps=10))
    assert [s.path for s in load.summaries] == [good['mcap'], good['sqlite3']]
    assert [e.problem for e in load.errors] == ['corrupt', 'missing']
    assert len(load.episodes) == 2
