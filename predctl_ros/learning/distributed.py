# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
r"""
Data-parallel training over several processes (torch.distributed, launched by torchrun).

``predctl train`` runs unchanged under torchrun, on one machine or several::

    torchrun --standalone --nproc_per_node 2 -m predctl_ros.cli train \
        --config config/train_reach2d.yaml --out runs/r2d --set threads=1
    torchrun --nnodes 2 --node_rank 0 --nproc_per_node 4 --rdzv_backend c10d \
        --rdzv_endpoint HOST:29500 -m predctl_ros.cli train --config ... --out ...

Each of the W processes (ranks) collects ``envs / W`` of the worlds, the episodes are
gathered so that every rank holds the replay a single process would, every rank draws
the same global minibatch and trains on its ``batch / W`` windows, and the gradients are
averaged (DistributedDataParallel): up to float32 summation order the run equals the
single-process run with the same config, but for the teacher-forcing draws (with
``teacher_forcing`` < 1 each rank draws for its own windows).  Rank 0 alone evaluates,
logs and writes the run directory; resuming needs that directory readable by every rank
(a shared disk when the ranks span machines).  The backend is gloo on CPU and nccl on
CUDA (each rank on ``cuda:LOCAL_RANK``); the environment variable
``PREDCTL_DIST_BACKEND`` overrides it.
Without torchrun (``WORLD_SIZE`` unset or 1) nothing here touches torch.distributed.
"""

from dataclasses import dataclass
import os
from typing import Dict, Optional

import numpy as np
import torch
import torch.distributed as dist


def resolve_device(name: str, local_rank: int = 0, world_size: int = 1) -> torch.device:
    """
    Return the torch device of this process, refusing CUDA where there is none.

    :param name: configured device ('cpu', 'cuda', 'cuda:1', ...).
    :param local_rank: rank of this process on its machine.
    :param world_size: number of processes; above 1 a bare 'cuda' becomes 'cuda:LOCAL_RANK'
        (an explicit index is kept, e.g. for one visible device per process).
    :return: the device.
    """
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise ValueError(f'device {name!r} is not a torch device ({exc})') from exc
    if device.type != 'cuda':
        return device
    if not torch.cuda.is_available():
        raise ValueError(f'device {name!r} asks for CUDA, but torch sees no CUDA device '
                         f'(torch {torch.__version__}, built with CUDA '
                         f'{torch.version.cuda or "none"}); use device=cpu')
    if device.index is None and world_size > 1:
        device = torch.device('cuda', local_rank)
    count = torch.cuda.device_count()
    if device.index is not None and device.index >= count:
        raise ValueError(f'device {str(device)!r} does not exist: {count} CUDA device(s)')
    return device


def share(total: int, world_size: int, rank: int, what: str) -> slice:
    """
    Return the contiguous part of `total` items that belongs to one rank.

    :param total: number of items (worlds, windows of a minibatch).
    :param world_size: number of ranks.
    :param rank: this rank.
    :param what: name of the setting, for the error message.
    :return: slice of this rank's items.
    :raises ValueError: when total does not split evenly over the ranks.
    """
    if total % world_size:
        raise ValueError(f'{what} = {total} does not split evenly over {world_size} '
                         f'processes: make {what} a multiple of {world_size}')
    part = total // world_size
    return slice(rank * part, (rank + 1) * part)


class _Replicated(torch.nn.parallel.DistributedDataParallel):
    """DDP that reads what it lacks (the spec, ...) from the wrapped network."""

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name == 'module':   # not set yet: no recursion
                raise
            return getattr(self.module, name)


@dataclass
class Context:
    """This process's place in the (possibly one-process) training group."""

    rank: int = 0
    """Global rank (0 writes the run directory)."""
    world_size: int = 1
    """Number of processes."""
    device: torch.device = torch.device('cpu')
    """Torch device of this rank."""
    owns_group: bool = False
    """Whether setup() created the process group (and close() destroys it)."""

    @property
    def main(self) -> bool:
        """Return whether this rank logs and writes files."""
        return self.rank == 0

    def share(self, total: int, what: str) -> slice:
        """
        Return this rank's contiguous part of `total` items.

        :param total: number of items.
        :param what: name of the setting, for the error message.
        :return: slice.
        """
        return share(total, self.world_size, self.rank, what)

    def wrap(self, net: torch.nn.Module) -> torch.nn.Module:
        """
        Return the network to train: itself, or under several ranks DDP around it.

        DDP averages the gradients in backward, so the mean over ranks of each rank's
        mean loss (equal batch shares) gives the gradient of the global-batch mean.  The
        step-by-step unrolls call the network many times before one backward; that suits
        DDP without unused-parameter search, as each parameter's gradient is complete
        (and reduced) once per backward.  A network that gets no gradient in a backward
        (the frozen model in the policy loss) must be called unwrapped.  Buffers (the
        input normalisation) are set alike on every rank from the gathered data, so they
        are not re-broadcast at each forward call.

        :param net: network (its parameters identical on all ranks).
        :return: the module whose forward calls carry the gradient averaging.
        """
        if self.world_size == 1:
            return net
        ids = [self.device.index] if self.device.type == 'cuda' else None
        return _Replicated(net, device_ids=ids, forward_sync_buffers=False)

    def gather(self, arrays: Dict[str, np.ndarray], axes: Dict[str, int]) -> dict:
        """
        Concatenate every rank's arrays, in rank order, on every rank.

        :param arrays: this rank's arrays (e.g. one rollout's).
        :param axes: the axis of each key along which the ranks' parts join.
        :return: dict of the joined arrays (the input itself on one rank).
        """
        if self.world_size == 1:
            return arrays
        parts = [None] * self.world_size
        dist.all_gather_object(parts, arrays)
        return {key: np.concatenate([p[key] for p in parts], axis=axes[key])
                for key in arrays}

    def generator(self, seed: int, iteration: int):
        """
        Return a generator for this rank's own random draws in a loss (teacher forcing).

        Seeded from (seed, iteration, rank): independent between ranks, as the draws for
        different windows of one process are, and the same after a resume.  Such draws
        are the one thing that differs from a single-process run.

        :param seed: run seed.
        :param iteration: training iteration.
        :return: torch.Generator on this rank's device; None on one process (the global
            generator, as without torch.distributed).
        """
        if self.world_size == 1:
            return None
        words = np.random.SeedSequence([seed, iteration, self.rank]).generate_state(2)
        generator = torch.Generator(self.device)
        generator.manual_seed(int(words[0]) << 32 | int(words[1]))
        return generator

    def average(self, value: float) -> float:
        """
        Return the mean of a number over the ranks (e.g. each rank's mean loss).

        :param value: this rank's number.
        :return: the mean over ranks; value itself on one process.
        """
        if self.world_size == 1:
            return value
        total = torch.tensor([value], dtype=torch.float64, device=self.device)
        dist.all_reduce(total)
        return float(total) / self.world_size

    def agree(self, value, what: str) -> None:
        """
        Refuse to go on unless every rank holds the same value.

        :param value: a picklable value (e.g. the iteration a resume starts from).
        :param what: its description, for the error message.
        :raises RuntimeError: when the ranks differ.
        """
        if self.world_size == 1:
            return
        values = [None] * self.world_size
        dist.all_gather_object(values, value)
        if any(v != values[0] for v in values):
            raise RuntimeError(f'the processes disagree on {what}: {values} (by rank); is '
                               'the run directory on a disk every rank reads?')

    def close(self) -> None:
        """Wait for every rank, then tear down the process group if setup() made it."""
        if self.world_size > 1:
            dist.barrier()
        if self.owns_group:
            dist.destroy_process_group()
            self.owns_group = False


def setup(device: str, split: Optional[Dict[str, int]] = None) -> Context:
    """
    Join the process group when launched by torchrun (WORLD_SIZE > 1).

    :param device: configured device name.
    :param split: settings (name: value) that must split evenly over the processes;
        checked before joining, so that every rank fails alike and at once.
    :return: Context of this process; one process without torchrun.
    """
    world_size = int(os.environ.get('WORLD_SIZE', '1'))
    if world_size <= 1:
        return Context(device=resolve_device(device))
    for name, value in (split or {}).items():
        share(value, world_size, 0, name)
    resolved = resolve_device(device, int(os.environ.get('LOCAL_RANK', '0')), world_size)
    owns = not dist.is_initialized()
    if owns:
        if resolved.type == 'cuda':
            torch.cuda.set_device(resolved)   # nccl's object collectives use the current one
        backend = os.environ.get('PREDCTL_DIST_BACKEND') or (
            'nccl' if resolved.type == 'cuda' else 'gloo')
        dist.init_process_group(backend)
    return Context(dist.get_rank(), dist.get_world_size(), resolved, owns)
