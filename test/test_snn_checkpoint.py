# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Checkpoints: exact round trip, atomic writes, clear errors for bad files."""

import json

from predctl_ros import __version__
from predctl_ros.snn import checkpoint as ckpt
from predctl_ros.snn import PolicyNet, PredictionNet
from predctl_ros.snn.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
import pytest
from safetensors.torch import save_file
import torch


@pytest.fixture()
def nets():
    return {'prediction': PredictionNet(9, 6, hidden=(48, 32), rank=8),
            'policy': PolicyNet(9, 3, 6, hidden=(40, 40), neuron='alif')}


def test_round_trip_reproduces_outputs_exactly(tmp_path, nets):
    path = save_checkpoint(tmp_path / 'm.safetensors', nets, task='panda_reach',
                           normalisation={'obs_scale': [1.0] * 9}, extra={'iteration': 3})
    loaded = load_checkpoint(path)
    x_p, x_pi = torch.randn(6, 2, 15), torch.randn(6, 2, 12)
    assert torch.equal(loaded['prediction'](x_p)[0], nets['prediction'](x_p)[0])
    assert torch.equal(loaded['policy'](x_pi)[0], nets['policy'](x_pi)[0])
    assert loaded.task == 'panda_reach'
    assert loaded.normalisation == {'obs_scale': [1.0] * 9}
    assert loaded.header['package_version'] == __version__
    assert loaded.header['dt_s'] == 0.002 and loaded.header['substeps'] == 7
    assert loaded['policy'].spec == nets['policy'].spec
    with pytest.raises(CheckpointError, match="no network 'critic'"):
        loaded['critic']


def test_crash_mid_write_keeps_the_last_good_checkpoint(tmp_path, nets, monkeypatch):
    path = save_checkpoint(tmp_path / 'm.safetensors', nets)
    before = path.read_bytes()

    def crash(tensors, filename, metadata=None):
        with open(filename, 'wb') as f:
            f.write(b'partial')
        raise KeyboardInterrupt('killed mid-write')

    monkeypatch.setattr(ckpt, 'save_file', crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, {'policy': PolicyNet(9, 3, 6, hidden=(8, 8))})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ['m.safetensors'], 'temp file left'


def test_missing_truncated_and_foreign_files_name_the_file(tmp_path, nets):
    with pytest.raises(CheckpointError, match='no such checkpoint file'):
        load_checkpoint(tmp_path / 'absent.safetensors')
    path = save_checkpoint(tmp_path / 'm.safetensors', nets)
    truncated = tmp_path / 'truncated.safetensors'
    truncated.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(CheckpointError, match='truncated.safetensors'):
        load_checkpoint(truncated)
    garbage = tmp_path / 'garbage.safetensors'
    garbage.write_bytes(b'\x00\x01not a checkpoint')
    with pytest.raises(CheckpointError, match='garbage.safetensors: not a readable'):
        load_checkpoint(garbage)
    foreign = tmp_path / 'foreign.safetensors'
    save_file({'w': torch.zeros(2)}, str(foreign))
    with pytest.raises(CheckpointError, match='without a predctl header'):
        load_checkpoint(foreign)


def _rewrite(path, out, edit_header=None, edit_tensors=None):
    from safetensors import safe_open
    with safe_open(str(path), framework='pt') as f:
        header = json.loads(f.metadata()[ckpt.HEADER_KEY])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    if edit_header:
        edit_header(header)
    if edit_tensors:
        edit_tensors(tensors)
    save_file(tensors, str(out), metadata={ckpt.HEADER_KEY: json.dumps(header)})
    return out


def test_shape_mismatch_names_tensor_and_shapes(tmp_path, nets):
    path = save_checkpoint(tmp_path / 'm.safetensors', nets)

    def shrink(header):
        header['networks']['policy']['hidden'] = [40, 30]

    bad = _rewrite(path, tmp_path / 'shape.safetensors', edit_header=shrink)
    with pytest.raises(CheckpointError, match=r"shape.safetensors: network 'policy' tensor "
                                              r"'layers.1.bias' has shape \(40,\), its spec "
                                              'needs \\(30,\\)'):
        load_checkpoint(bad)

    def drop(tensors):
        del tensors['prediction.readout.bias']

    bad = _rewrite(path, tmp_path / 'missing.safetensors', edit_tensors=drop)
    with pytest.raises(CheckpointError, match=r"missing \['readout.bias'\]"):
        load_checkpoint(bad)

    def newer(header):
        header['format_version'] = 99

    bad = _rewrite(path, tmp_path / 'version.safetensors', edit_header=newer)
    with pytest.raises(CheckpointError, match='format version 99'):
        load_checkpoint(bad)

    def bad_spec(header):
        header['networks']['policy']['neuron'] = 'hodgkin'

    bad = _rewrite(path, tmp_path / 'spec.safetensors', edit_header=bad_spec)
    with pytest.raises(CheckpointError, match="network 'policy': invalid network spec"):
        load_checkpoint(bad)


def test_checkpoint_holds_no_pickled_code(tmp_path, nets):
    path = save_checkpoint(tmp_path / 'm.safetensors', nets)
    data = path.read_bytes()
    header_len = int.from_bytes(data[:8], 'little')
    header = json.loads(data[8:8 + header_len])
    # A plain safetensors layout: JSON header, then raw float32 tensors named by network.
    names = {k for k in header if k != '__metadata__'}
    expected = {f'{n}.{k}' for n, net in nets.items() for k in net.state_dict()}
    assert names == expected
    assert all(header[k]['dtype'] == 'F32' for k in names)
