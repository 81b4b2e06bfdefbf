"""Vector envs: many :class:`~clinic_env.envs.gym_env.ClinicEnv` stepped as one.

``gymnasium.make_vec("clinic_env/Consultation-v0", num_envs=n, vectorization_mode=...)``
works in both modes. In ``"async"`` mode (one subprocess per env) Gymnasium's default
``shared_memory=True`` writes observations into fixed numpy buffers, which silently turns
text into garbage; :func:`make_vec_env` always passes ``shared_memory=False``, so
observations travel through the pipes as Python strings.

Observations come back as a tuple of strings, actions go in as a sequence of strings, and
``info["reward_breakdown"]`` maps each component to an array over the envs. Gymnasium's
default autoreset mode is ``NEXT_STEP``: the step after an episode ends resets that env and
ignores its action.
"""

from __future__ import annotations

from typing import Any, Literal

import gymnasium as gym

from clinic_env.envs.registration import ENV_ID, register_envs


def make_vec_env(
    num_envs: int,
    vectorization_mode: Literal["sync", "async"] = "sync",
    vector_kwargs: dict[str, Any] | None = None,
    **env_kwargs: Any,
) -> gym.vector.VectorEnv:
    """``num_envs`` consultations; ``env_kwargs`` are ``ClinicEnv``'s (dataset, persona, ...).
    The keywords are Gymnasium's own (``gymnasium.make_vec``)."""
    register_envs()
    mode = vectorization_mode
    vector_kwargs = dict(vector_kwargs or {})
    if mode == "async":
        if vector_kwargs.get("shared_memory"):
            raise ValueError("shared_memory=True corrupts text observations; leave it False")
        vector_kwargs["shared_memory"] = False
    return gym.make_vec(
        ENV_ID,
        num_envs=num_envs,
        vectorization_mode=mode,
        vector_kwargs=vector_kwargs,
        **env_kwargs,
    )
