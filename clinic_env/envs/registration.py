"""Registering ``clinic_env/Consultation-v0`` with Gymnasium's registry."""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

ENV_ID = "clinic_env/Consultation-v0"


def register_envs() -> None:
    """Make ``gymnasium.make(ENV_ID, ...)`` work; safe to call more than once."""
    if ENV_ID not in registry:
        register(id=ENV_ID, entry_point="clinic_env.envs.gym_env:ClinicEnv")
