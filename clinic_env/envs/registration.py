"""Registering the envs with Gymnasium's registry: ``clinic_env/Consultation-v0`` (text
actions) and ``clinic_env/DiscreteConsultation-v0`` (menu actions, for classic RL)."""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

ENV_ID = "clinic_env/Consultation-v0"
DISCRETE_ENV_ID = "clinic_env/DiscreteConsultation-v0"


def register_envs() -> None:
    """Make ``gymnasium.make(ENV_ID, ...)`` and ``gymnasium.make(DISCRETE_ENV_ID, ...)`` work;
    safe to call more than once."""
    if ENV_ID not in registry:
        register(id=ENV_ID, entry_point="clinic_env.envs.gym_env:ClinicEnv")
    if DISCRETE_ENV_ID not in registry:
        register(id=DISCRETE_ENV_ID, entry_point="clinic_env.envs.discrete:DiscreteClinicEnv")
