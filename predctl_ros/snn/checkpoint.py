# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Checkpoints: safetensors weights plus a JSON header, written atomically.

A checkpoint holds one or more named networks (e.g. 'prediction' and 'policy')
and a header with their specs, the SNN step and sub-steps, the task id, the
observation/action normalisation and the package version.  Loading never
unpickles code, and every failure names the file and what is wrong.
"""

import json
from pathlib import Path
from typing import Dict, Optional

from predctl_ros import __version__
from predctl_ros.atomic import atomic_path
from predctl_ros.snn.networks import build_network
from predctl_ros.snn.spec import NetworkSpec
from safetensors import safe_open
from safetensors.torch import save_file
import torch
from torch import nn

FORMAT = 'predctl-checkpoint'
FORMAT_VERSION = 1
HEADER_KEY = 'predctl'


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, corrupt or does not match its specs."""


class Checkpoint:
    """Networks and header of a loaded checkpoint."""

    def __init__(self, path: Path, header: dict, networks: Dict[str, nn.Module]):
        """
        Bundle what load_checkpoint read.

        :param path: the file.
        :param header: the JSON header.
        :param networks: rebuilt networks by name, weights loaded.
        """
        self.path, self.header, self.networks = path, header, networks

    @property
    def task(self) -> Optional[str]:
        """Task id the networks were trained on, if recorded."""
        return self.header.get('task')

    @property
    def task_options(self) -> dict:
        """Task options the networks were trained with (e.g. velocities); empty if none."""
        return self.header.get('task_options') or {}

    @property
    def normalisation(self) -> dict:
        """Observation and action normalisation as plain lists; empty if none."""
        return self.header.get('normalisation', {})

    def __getitem__(self, name: str) -> nn.Module:
        """
        Return a network by name.

        :param name: network name.
        :return: the network.
        """
        if name not in self.networks:
            raise CheckpointError(f'{self.path}: has no network {name!r} '
                                  f'(has {sorted(self.networks)})')
        return self.networks[name]


def save_checkpoint(path, networks: Dict[str, nn.Module], task: Optional[str] = None,
                    normalisation: Optional[dict] = None, extra: Optional[dict] = None,
                    task_options: Optional[dict] = None) -> Path:
    """
    Write networks and header to path atomically (temp file, fsync, rename).

    A crash at any moment leaves either the previous file or the new one, never a
    partial file.

    :param path: destination file (conventionally *.safetensors).
    :param networks: name -> network with a ``spec`` attribute.
    :param task: task id, e.g. 'panda_reach'.
    :param normalisation: JSON-able normalisation data (lists of floats).
    :param extra: further JSON-able header entries (e.g. training step, metrics).
    :param task_options: options of the task that change the observation (e.g.
        ``{'velocities': True}``); a loader passes them to ``make_task``.
    :return: the path written.
    """
    path = Path(path)
    tensors, specs = {}, {}
    for name, net in networks.items():
        if '.' in name:
            raise ValueError(f'network name {name!r} must not contain a dot')
        specs[name] = net.spec.to_dict()
        for key, value in net.state_dict().items():
            tensors[f'{name}.{key}'] = value.detach().to('cpu').contiguous().clone()
    first = next(iter(networks.values())).spec
    header = {'format': FORMAT, 'format_version': FORMAT_VERSION,
              'package_version': __version__, 'task': task,
              'task_options': dict(task_options or {}), 'dt_s': first.dt_s,
              'substeps': first.substeps, 'networks': specs,
              'normalisation': normalisation or {}, 'extra': extra or {}}
    metadata = {HEADER_KEY: json.dumps(header)}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    return path


def read_header(path) -> dict:
    """
    Read and validate only the JSON header of a checkpoint.

    :param path: checkpoint file.
    :return: the header dict.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f'{path}: no such checkpoint file')
    try:
        with safe_open(str(path), framework='pt') as f:
            metadata = f.metadata() or {}
    except Exception as exc:  # noqa: B902 - safetensors raises several types
        raise CheckpointError(f'{path}: not a readable safetensors file ({exc})') from exc
    if HEADER_KEY not in metadata:
        raise CheckpointError(f'{path}: safetensors file without a predctl header')
    try:
        header = json.loads(metadata[HEADER_KEY])
    except json.JSONDecodeError as exc:
        raise CheckpointError(f'{path}: corrupt checkpoint header ({exc})') from exc
    if header.get('format') != FORMAT:
        raise CheckpointError(f"{path}: format {header.get('format')!r} is not {FORMAT!r}")
    if header.get('format_version') != FORMAT_VERSION:
        raise CheckpointError(f"{path}: format version {header.get('format_version')} is not "
                              f'supported (expected {FORMAT_VERSION})')
    if not isinstance(header.get('networks'), dict) or not header['networks']:
        raise CheckpointError(f'{path}: header lists no networks')
    return header


def load_checkpoint(path, map_location='cpu') -> Checkpoint:
    """
    Load a checkpoint, rebuilding each network from its spec.

    :param path: checkpoint file.
    :param map_location: device for the weights.
    :return: Checkpoint.
    """
    path = Path(path)
    header = read_header(path)
    networks = {}
    try:
        with safe_open(str(path), framework='pt', device=str(map_location)) as f:
            stored = {key: f.get_tensor(key) for key in f.keys()}
    except Exception as exc:  # noqa: B902 - truncated data raises several types
        raise CheckpointError(f'{path}: cannot read tensors ({exc})') from exc
    for name, spec_dict in header['networks'].items():
        try:
            spec = NetworkSpec.from_dict(spec_dict)
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f'{path}: network {name!r}: {exc}') from exc
        with torch.random.fork_rng():
            net = build_network(spec).to(map_location)
        expected = net.state_dict()
        prefix = f'{name}.'
        own = {k[len(prefix):]: v for k, v in stored.items() if k.startswith(prefix)}
        missing = sorted(set(expected) - set(own))
        unexpected = sorted(set(own) - set(expected))
        if missing or unexpected:
            raise CheckpointError(f'{path}: network {name!r} does not match its spec: '
                                  f'missing {missing}, unexpected {unexpected}')
        for key, value in own.items():
            if value.shape != expected[key].shape:
                raise CheckpointError(
                    f'{path}: network {name!r} tensor {key!r} has shape {tuple(value.shape)}, '
                    f'its spec needs {tuple(expected[key].shape)}')
        net.load_state_dict(own)
        networks[name] = net
    return Checkpoint(path, header, networks)
