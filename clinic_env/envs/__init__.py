"""Environment faces on the session: Gymnasium (and later PettingZoo)."""

from clinic_env.envs.registration import ENV_ID, register_envs

__all__ = ["ENV_ID", "register_envs"]
