# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
MuJoCo models of the two arms, built from the URDF files under ``urdf/``.

The URDF is the single source of kinematics, inertials, joint ranges and torque
limits (``<limit effort=...>``); :func:`build_spec` loads it through ``MjSpec`` and
adds what a simulator needs and a URDF cannot say:

* one actuator per revolute joint: a torque motor with
  ``ctrlrange = [-effort, effort]`` (or, for joints listed in ``hold_joints``, a
  stiff PD position servo with ``forcerange = [-effort, effort]``);
* an end-effector site (``ee_site``) at the tool frame (the Panda hand TCP, the
  planar arm's hand);
* a mocap body ``goal`` carrying a visual-only site (``goal_site``) to show targets;
* optionally a floor, plus lights and a checker texture for rendering;
* the physics timestep, integrator and armature.

Joint friction, damping and velocity limits are facts of the robot and live in the URDF
(``<dynamics>``, ``<limit velocity>``); see :mod:`predctl_ros.envs.physics`.

Static bodies are not fused, so every URDF link (``panda_link0`` ... ``panda_hand_tcp``)
keeps its name for TF and lookups. Arm geoms collide with the floor but not with each
other (contype 2 / conaffinity 1 against the floor's 1 / 2).
"""

import math
from typing import Optional
import xml.etree.ElementTree as ElementTree

import mujoco
import numpy as np

from predctl_ros.resources import share_path

PANDA_URDF = ('urdf', 'panda.urdf')
REACH2D_URDF = ('urdf', 'reach2d.urdf')
PANDA_JOINTS = tuple(f'panda_joint{i}' for i in range(1, 8))
REACH2D_JOINTS = ('reach2d_joint1', 'reach2d_joint2')
PANDA_EE_BODY = 'panda_hand_tcp'
REACH2D_EE_BODY = 'reach2d_hand'

_INTEGRATORS = {
    'euler': mujoco.mjtIntegrator.mjINT_EULER,
    'implicitfast': mujoco.mjtIntegrator.mjINT_IMPLICITFAST,
    'implicit': mujoco.mjtIntegrator.mjINT_IMPLICIT,
    'rk4': mujoco.mjtIntegrator.mjINT_RK4,
}
_ARM_CONTYPE, _ARM_CONAFFINITY = 2, 1
_FLOOR_CONTYPE, _FLOOR_CONAFFINITY = 1, 2


def urdf_joint_limits(path: str) -> dict:
    """
    Read the ``<limit>`` of every revolute joint of a URDF file.

    :param path: URDF file.
    :return: ``{joint name: (lower_rad, upper_rad, effort_nm, velocity_rad_s)}`` in file order.
    :raises ValueError: when a revolute joint has no complete ``<limit>``.
    """
    root = ElementTree.parse(path).getroot()
    limits = {}
    for joint in root.iter('joint'):
        if joint.get('type') != 'revolute':
            continue
        name = joint.get('name')
        limit = joint.find('limit')
        if limit is None:
            raise ValueError(f'{path}: revolute joint {name!r} has no <limit>')
        try:
            limits[name] = tuple(float(limit.get(key))
                                 for key in ('lower', 'upper', 'effort', 'velocity'))
        except TypeError:
            raise ValueError(f'{path}: joint {name!r} needs lower, upper, effort and velocity '
                             'in its <limit>') from None
    return limits


def _check_timestep(timestep_s: float):
    if not (math.isfinite(timestep_s) and timestep_s > 0):
        raise ValueError(f'timestep_s must be a positive number of seconds, got {timestep_s!r}')


def build_spec(urdf: str, ee_body: str, *, timestep_s: float = 0.002, floor: bool = True,
               floor_z_m: float = 0.0,
               hold_joints=None, hold_kp: float = 200.0, hold_dampratio: float = 1.0,
               damping: Optional[float] = None, friction: Optional[float] = None,
               added_damping=None, armature: float = 0.1,
               integrator: str = 'implicitfast', gravity: bool = True,
               gravity_compensation: bool = False, rgba=None) -> mujoco.MjSpec:
    """
    Load a URDF into an ``MjSpec`` and add actuators, sites, floor and options.

    :param urdf: path of the URDF file.
    :param ee_body: name of the link that carries the end-effector site.
    :param timestep_s: physics timestep in seconds.
    :param floor: add a ground plane.
    :param floor_z_m: height of the ground plane in metres.
    :param hold_joints: joint names driven by a PD servo (target = ctrl) instead of a motor.
    :param hold_kp: servo stiffness in Nm/rad.
    :param hold_dampratio: servo damping ratio (1 = critical, from the joint's inertia).
    :param damping: viscous joint damping in Nm s/rad replacing the URDF's ``<dynamics
        damping>``: one number for every joint, or one per joint in the URDF's order
        (None keeps the URDF's; 0 for analytic tests).
    :param friction: dry joint friction in Nm for every joint, replacing the URDF's
        ``<dynamics friction>`` (None keeps the URDF's).
    :param added_damping: damping in Nm s/rad a controller adds on top of the joints' own
        (after ``damping``): one number per joint in the URDF's order, or None.
    :param armature: rotor inertia added to each joint in kg m^2 (simulator choice).
    :param integrator: one of 'euler', 'implicitfast', 'implicit', 'rk4'.
    :param gravity: keep gravity (-9.81 m/s^2 along z) on.
    :param gravity_compensation: cancel the links' weight with MuJoCo's body gravity
        compensation (``gravcomp`` 1, applied as a passive force), as Franka's controller
        does below a torque command; ``model.body_gravcomp`` can switch it off again.
    :param rgba: optional list of colours cycled over the links, for pictures.
    :return: the spec, ready to compile.
    """
    _check_timestep(timestep_s)
    if integrator not in _INTEGRATORS:
        raise ValueError(f'integrator must be one of {sorted(_INTEGRATORS)}, got {integrator!r}')
    limits = urdf_joint_limits(urdf)
    hold = set(hold_joints or ())
    unknown = hold - set(limits)
    if unknown:
        raise ValueError(f'hold_joints {sorted(unknown)} are not revolute joints of {urdf}')
    spec = mujoco.MjSpec.from_file(urdf)
    spec.compiler.fusestatic = False
    # The URDF's visual elements were dropped while parsing; keep our own textures.
    spec.compiler.discardvisual = False
    spec.compiler.degree = False
    spec.option.timestep = timestep_s
    spec.option.integrator = _INTEGRATORS[integrator]
    if not gravity:
        spec.option.gravity = [0.0, 0.0, 0.0]
    joints = list(spec.joints)
    if damping is not None:
        if np.ndim(damping) and len(damping) != len(joints):
            raise ValueError(f'damping: {len(damping)} values for the {len(joints)} joints of '
                             f'{urdf}')
        damping = np.broadcast_to(np.asarray(damping, dtype=float), len(joints))
    if added_damping is not None:
        added_damping = np.asarray(added_damping, dtype=float)
        if added_damping.shape != (len(joints),) or not np.all(np.isfinite(added_damping)) \
                or np.any(added_damping < 0):
            raise ValueError(f'added_damping: need {len(joints)} finite values >= 0 for the '
                             f'joints of {urdf}, got {added_damping.tolist()}')
    for index, joint in enumerate(joints):
        if damping is not None:
            _set_scalar(joint, 'damping', float(damping[index]))
        if added_damping is not None:
            own = float(np.ravel(joint.damping)[0])
            _set_scalar(joint, 'damping', own + float(added_damping[index]))
        if friction is not None:
            joint.frictionloss = friction
        joint.armature = armature
    for index, body in enumerate(b for b in spec.bodies if b.name != 'world'):
        if gravity_compensation:
            body.gravcomp = 1.0
        for geom in body.geoms:
            geom.contype = _ARM_CONTYPE
            geom.conaffinity = _ARM_CONAFFINITY
            if rgba is not None:
                geom.rgba = rgba[index % len(rgba)]
    for name, (lower, upper, effort, _velocity) in limits.items():
        actuator = spec.add_actuator(name=f'{name}_{"servo" if name in hold else "motor"}',
                                     target=name, trntype=mujoco.mjtTrn.mjTRN_JOINT)
        if name in hold:
            actuator.set_to_position(kp=hold_kp, dampratio=hold_dampratio)
            actuator.ctrlrange = [lower, upper]
            actuator.forcerange = [-effort, effort]
            actuator.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE
        else:
            actuator.set_to_motor()
            actuator.ctrlrange = [-effort, effort]
        actuator.ctrllimited = mujoco.mjtLimited.mjLIMITED_TRUE
    spec.body(ee_body).add_site(name='ee_site', size=[0.012, 0, 0], rgba=[0.1, 0.4, 1.0, 1.0],
                                group=2)
    goal = spec.worldbody.add_body(name='goal', mocap=True)
    goal.add_site(name='goal_site', size=[0.03, 0, 0], rgba=[0.9, 0.1, 0.1, 0.8], group=2)
    _add_scenery(spec, floor, floor_z_m)
    return spec


def _set_scalar(element, name: str, value: float):
    """Set a scalar attribute; mujoco >= 4 stores some as vectors whose first entry is linear."""
    current = getattr(element, name)
    if np.ndim(current):
        vector = np.zeros(np.shape(current))
        vector[0] = value
        setattr(element, name, vector)
    else:
        setattr(element, name, value)


def _add_scenery(spec: mujoco.MjSpec, floor: bool, floor_z_m: float):
    spec.worldbody.add_light(name='key', pos=[1.0, -1.0, 2.5], dir=[-0.4, 0.4, -1.0],
                             diffuse=[0.7, 0.7, 0.7])
    spec.visual.headlight.ambient = [0.35, 0.35, 0.35]
    spec.visual.headlight.diffuse = [0.4, 0.4, 0.4]
    spec.add_texture(name='sky', type=mujoco.mjtTexture.mjTEXTURE_SKYBOX,
                     builtin=mujoco.mjtBuiltin.mjBUILTIN_GRADIENT, rgb1=[0.55, 0.65, 0.8],
                     rgb2=[0.1, 0.12, 0.16], width=64, height=64)
    if not floor:
        return
    spec.add_texture(name='grid', type=mujoco.mjtTexture.mjTEXTURE_2D,
                     builtin=mujoco.mjtBuiltin.mjBUILTIN_CHECKER, rgb1=[0.36, 0.4, 0.46],
                     rgb2=[0.22, 0.25, 0.3], width=256, height=256)
    material = spec.add_material(name='grid', texrepeat=[2, 2], texuniform=True,
                                 reflectance=0.05)
    material.textures[int(mujoco.mjtTextureRole.mjTEXROLE_RGB)] = 'grid'
    spec.worldbody.add_geom(name='floor', type=mujoco.mjtGeom.mjGEOM_PLANE,
                            pos=[0, 0, floor_z_m], size=[0, 0, 0.05], material='grid',
                            contype=_FLOOR_CONTYPE, conaffinity=_FLOOR_CONAFFINITY)


PANDA_RGBA = ([0.95, 0.95, 0.95, 1.0], [0.95, 0.95, 0.95, 1.0], [0.25, 0.25, 0.27, 1.0])


def panda_spec(**kwargs) -> mujoco.MjSpec:
    """
    Build the Panda ``MjSpec`` from ``urdf/panda.urdf`` (see :func:`build_spec`).

    :param kwargs: options of :func:`build_spec` (not ``urdf`` or ``ee_body``).
    :return: the spec, ready to compile or to edit further (e.g. by a ROS simulation node).
    """
    kwargs.setdefault('rgba', PANDA_RGBA)
    return build_spec(share_path(*PANDA_URDF), PANDA_EE_BODY, **kwargs)


def load_panda_model(*, timestep_s: float = 0.002, hold_joint7: bool = False,
                     floor: bool = True, **kwargs) -> mujoco.MjModel:
    """
    Compile the Panda model from ``urdf/panda.urdf``.

    Actuators, in joint order: ``panda_joint1_motor`` ... ``panda_joint7_motor``, torque
    motors with ctrl in Nm limited to +-(87, 87, 87, 87, 12, 12, 12). With
    ``hold_joint7`` joint 7 gets ``panda_joint7_servo`` instead: a PD servo whose ctrl is
    the target angle in rad (forces limited to +-12 Nm), as in the reaching task.

    :param timestep_s: physics timestep in seconds.
    :param hold_joint7: drive joint 7 with a stiff PD servo instead of a torque motor.
    :param floor: add the ground plane.
    :param kwargs: further options of :func:`build_spec` (damping, armature, integrator, ...).
    :return: the compiled model.
    """
    hold = ('panda_joint7',) if hold_joint7 else ()
    return panda_spec(timestep_s=timestep_s, floor=floor, hold_joints=hold, **kwargs).compile()


def load_reach2d_model(*, timestep_s: float = 0.002, **kwargs) -> mujoco.MjModel:
    """
    Compile the planar two-link arm from ``urdf/reach2d.urdf``.

    The arm moves in the horizontal plane (joint axes along z), so gravity does no work;
    links of 0.5 m and 0.4 m; torque motors ``reach2d_joint1_motor`` (+-10 Nm) and
    ``reach2d_joint2_motor`` (+-4 Nm). The floor lies 5 cm below the arm, out of reach.

    :param timestep_s: physics timestep in seconds.
    :param kwargs: further options of :func:`build_spec`.
    :return: the compiled model.
    """
    kwargs.setdefault('floor_z_m', -0.05)
    kwargs.setdefault('armature', 0.01)
    kwargs.setdefault('rgba', ([0.9, 0.6, 0.2, 1.0], [0.3, 0.5, 0.8, 1.0]))
    return build_spec(share_path(*REACH2D_URDF), REACH2D_EE_BODY, timestep_s=timestep_s,
                      **kwargs).compile()


def _dh_transform(a: float, d: float, alpha: float, theta: np.ndarray) -> np.ndarray:
    """Return T = RotX(alpha) TransX(a) RotZ(theta) TransZ(d), batched over theta [..]."""
    ct, st = np.cos(theta), np.sin(theta)
    ca, sa = math.cos(alpha), math.sin(alpha)
    out = np.zeros(theta.shape + (4, 4))
    out[..., 0, 0], out[..., 0, 1], out[..., 0, 3] = ct, -st, a
    out[..., 1, 0], out[..., 1, 1], out[..., 1, 2] = st * ca, ct * ca, -sa
    out[..., 2, 0], out[..., 2, 1], out[..., 2, 2] = st * sa, ct * sa, ca
    out[..., 1, 3], out[..., 2, 3] = -d * sa, d * ca
    out[..., 3, 3] = 1.0
    return out


# Panda modified DH table (a_m, d_m, alpha_rad), joints 1..7; flange d = 0.107 m;
# hand TCP 0.1034 m beyond the flange, rotated -pi/4 about z.
PANDA_DH = (
    (0.0, 0.333, 0.0),
    (0.0, 0.0, -math.pi / 2),
    (0.0, 0.316, math.pi / 2),
    (0.0825, 0.0, math.pi / 2),
    (-0.0825, 0.384, -math.pi / 2),
    (0.0, 0.0, math.pi / 2),
    (0.088, 0.0, math.pi / 2),
)
PANDA_FLANGE_D = 0.107
PANDA_TCP_D = 0.1034


def panda_dh_frames(q) -> np.ndarray:
    """
    Compute the Panda joint frames with the modified DH formula (independent of MuJoCo).

    :param q: joint angles [..., 7] in rad.
    :return: homogeneous transforms [..., 9, 4, 4] of links 1..7, the flange and the TCP
        in the base frame.
    """
    q = np.asarray(q, dtype=float)
    if q.shape[-1] != 7:
        raise ValueError(f'q must end in 7 joint angles, got shape {q.shape}')
    frames = []
    pose = np.broadcast_to(np.eye(4), q.shape[:-1] + (4, 4))
    for i, (a, d, alpha) in enumerate(PANDA_DH):
        pose = pose @ _dh_transform(a, d, alpha, q[..., i])
        frames.append(pose)
    zeros = np.zeros(q.shape[:-1])
    pose = pose @ _dh_transform(0.0, PANDA_FLANGE_D, 0.0, zeros)
    frames.append(pose)
    pose = pose @ _dh_transform(0.0, PANDA_TCP_D, 0.0, zeros - math.pi / 4)
    frames.append(pose)
    return np.stack(frames, axis=-3)


def panda_tcp_position(q) -> np.ndarray:
    """
    Return the hand TCP position from the DH formula.

    :param q: joint angles [..., 7] in rad.
    :return: xyz [..., 3] in metres, base frame.
    """
    return panda_dh_frames(q)[..., -1, :3, 3]


def reach2d_hand_position(q, lengths=(0.5, 0.4)) -> np.ndarray:
    """
    Return the planar arm's hand position from the textbook formula.

    :param q: joint angles [..., 2] in rad.
    :param lengths: link lengths in metres.
    :return: xy [..., 2] in metres.
    """
    q = np.asarray(q, dtype=float)
    l1, l2 = lengths
    x = l1 * np.cos(q[..., 0]) + l2 * np.cos(q[..., 0] + q[..., 1])
    y = l1 * np.sin(q[..., 0]) + l2 * np.sin(q[..., 0] + q[..., 1])
    return np.stack((x, y), axis=-1)


def full_inertia(model: mujoco.MjModel, data: mujoco.MjData) -> np.ndarray:
    """
    Return the dense joint-space inertia matrix (after mj_fwdPosition or mj_forward).

    Works with mujoco 4 (``mj_fullM(m, d, dst)``) and mujoco 3 (``mj_fullM(m, dst, qM)``).

    :param model: the model.
    :param data: the world.
    :return: M [nv, nv].
    """
    dense = np.zeros((model.nv, model.nv))
    try:
        mujoco.mj_fullM(model, data, dense)
    except TypeError:
        mujoco.mj_fullM(model, dense, data.qM)
    return dense
