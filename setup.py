# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""ament_python package definition for predctl_ros."""

from glob import glob
import os

from setuptools import find_packages, setup

package_name = 'predctl_ros'


def share(subdir, pattern='*'):
    """Return a data_files entry installing subdir/pattern under share/<pkg>/subdir."""
    files = sorted(f for f in glob(os.path.join(subdir, pattern)) if os.path.isfile(f))
    return (os.path.join('share', package_name, subdir), files)


setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['test', 'test.*', 'bench']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
        share('launch', '*.launch.py'),
        share('config', '*.yaml'),
        share('urdf'),
        share('rviz'),
        share('models'),
    ],
    # What the nodes and the predctl command import at run time, beside what package.xml
    # brings from a ROS install (rclpy, messages, numpy, PyYAML). colcon installs none of
    # it: requirements-runtime.txt pins the same names for the README's recipe. torch is
    # pinned because an open range would pull a multi-GB CUDA build.
    install_requires=['setuptools', 'numpy', 'PyYAML', 'torch==2.13.0', 'safetensors',
                      'numba', 'mujoco', 'rosbags', 'gymnasium', 'tqdm', 'tensorboard',
                      'matplotlib', 'imageio', 'imageio-ffmpeg'],
    extras_require={'test': ['pytest']},
    zip_safe=True,
    maintainer='predctl_ros contributors',
    maintainer_email='predctl@example.org',
    description='Spiking neural network torque control of robot arms (Pred-Control SNN) '
                'for ROS 2.',
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'predctl = predctl_ros.cli:main',
            'sim_node = predctl_ros.nodes.sim_node:main',
            'policy_node = predctl_ros.nodes.policy_node:main',
            'goal_publisher = predctl_ros.nodes.goal_publisher:main',
            'bag_recorder = predctl_ros.nodes.bag_recorder:main',
            'trainer_node = predctl_ros.nodes.trainer_node:main',
        ],
    },
)
