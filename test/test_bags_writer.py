# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""BagWriter writes bags that rosbags reads back; a crash never harms finished bags."""

import subprocess
import sys
import textwrap

import bag_factory as bf
import numpy as np
from predctl_ros import bags, envs
import pytest
from rosbags.rosbag2 import Reader

JS, CMD = 'sensor_msgs/msg/JointState', 'std_msgs/msg/Float64MultiArray'


def _messages(n, t0=bf.WALL_T0_NS):
    for k in range(n):
        js = bf.joint_state(bf.SIM_T0_NS + k * bf.DT_NS, np.full(7, k * 0.01), np.zeros(7))
        yield '/joint_states', bf.STORE.serialize_cdr(js, JS), t0 + k * bf.DT_NS
        cmd = bf.command(np.full(7, float(k)))
        yield '/effort_controller/commands', bf.STORE.serialize_cdr(cmd, CMD), \
            t0 + k * bf.DT_NS + 1000


def _read(path):
    with Reader(path) as reader:
        out = [(c.topic, t, bf.STORE.deserialize_cdr(raw, c.msgtype))
               for c, t, raw in reader.messages()]
        return out, {t: i.msgcount for t, i in reader.topics.items()}


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
def test_written_bag_reads_back(tmp_path, storage):
    with bags.BagWriter(tmp_path / 'bag', storage) as writer:
        writer.add_topic('/joint_states', JS)
        writer.add_topic('/effort_controller/commands', CMD)
        for topic, data, t in _messages(20):
            writer.write(topic, data, t)
    suffix = '.mcap' if storage == 'mcap' else '.db3'
    names = sorted(p.name for p in (tmp_path / 'bag').iterdir())
    assert names == ['bag' + suffix, 'metadata.yaml']
    messages, counts = _read(tmp_path / 'bag')
    assert counts == {'/joint_states': 20, '/effort_controller/commands': 20}
    assert [m.data[0] for topic, _, m in messages if topic != '/joint_states'] == list(
        range(20))
    assert [t for _, t, _ in messages] == sorted(t for _, t, _ in messages)


def test_refusals(tmp_path):
    (tmp_path / 'exists').mkdir()
    with pytest.raises(FileExistsError):
        bags.BagWriter(tmp_path / 'exists')
    with pytest.raises(ValueError, match='storage'):
        bags.BagWriter(tmp_path / 'b', storage='rosbag1')
    writer = bags.BagWriter(tmp_path / 'c')
    with pytest.raises(ValueError, match='type store'):
        writer.add_topic('/x', 'my_msgs/msg/Unknown')
    writer.add_topic('/joint_states', JS)
    with pytest.raises(ValueError, match='declared as'):
        writer.add_topic('/joint_states', CMD)
    with pytest.raises(KeyError):
        writer.write('/other', b'')
    assert writer.close() == [tmp_path / 'c']
    assert _read(tmp_path / 'c') == ([], {'/joint_states': 0})


def test_closed_after_an_exception(tmp_path):
    with pytest.raises(RuntimeError):
        with bags.BagWriter(tmp_path / 'bag') as writer:
            writer.add_topic('/joint_states', JS)
            for topic, data, t in _messages(5):
                if topic == '/joint_states':
                    writer.write(topic, data, t)
            raise RuntimeError('crash in the caller')
    assert _read(tmp_path / 'bag')[1] == {'/joint_states': 5}


def test_split_bags_and_a_crash(tmp_path):
    """A recorder killed mid-bag leaves the finished parts intact and readable."""
    code = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(bf.__file__.rsplit('/', 1)[0])!r})
        import test_bags_writer as tw
        from predctl_ros.bags import BagWriter
        writer = BagWriter({str(tmp_path / 'rec')!r}, split_duration_s=1.0)
        writer.add_topic('/joint_states', tw.JS)
        writer.add_topic('/effort_controller/commands', tw.CMD)
        writer.add_topic('/active_target', 'geometry_msgs/msg/PointStamped',
                         repeat_on_split=True)
        target = tw.bf.STORE.serialize_cdr(tw.bf.point(0, [0.5, 0.0, 0.4]),
                                           'geometry_msgs/msg/PointStamped')
        writer.write('/active_target', target, tw.bf.WALL_T0_NS - 1)
        for topic, data, t in tw._messages(120):   # 2.4 s: parts 0 and 1 finish
            writer.write(topic, data, t)
        os._exit(3)                                 # killed while writing part 2
    """)
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert proc.returncode == 3, proc.stderr
    parts = bags.find_bags([tmp_path / 'rec'])
    assert [p.name for p in parts] == ['rec_0000', 'rec_0001', 'rec_0002']
    assert not (parts[2] / 'metadata.yaml').exists()
    assert _read(parts[0])[1]['/joint_states'] == 50
    load = bags.load_bags([tmp_path / 'rec'], envs.make_task('panda_reach'),
                          bags.ConvertOptions(min_steps=10))
    # The latched target, recorded once before part 0, is repeated into part 1.
    assert _read(parts[1])[1]['/active_target'] == 1
    assert [s.path for s in load.summaries] == parts[:2]
    assert [(e.path, e.problem) for e in load.errors] == [(parts[2], 'unfinished')]
