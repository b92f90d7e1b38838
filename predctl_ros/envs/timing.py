# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Timing of the reaching tasks: control period, physics step and episode length.

Kept apart from :mod:`predctl_ros.envs.tasks` so that the gymnasium registration, which
runs when :mod:`predctl_ros.envs` is imported, can read the episode length without
importing MuJoCo.
"""

CONTROL_DT_S = 0.02
"""Control period in seconds (50 Hz)."""
PHYSICS_DT_S = 0.002
"""MuJoCo timestep in seconds."""
EPISODE_STEPS = 200
"""Control steps per episode."""
