"""Trainer adapters: one module per trainer, each behind its own optional extra.

Import the one you use; each says which ``pip install "clinic-env[...]"`` it needs:

- :mod:`clinic_env.adapters.trl`: TRL ``GRPOTrainer(environment_factory=...)`` (``[trl]``)
- :mod:`clinic_env.adapters.verifiers`: a verifiers v1 taskset and env (``[verifiers]``)
- :mod:`clinic_env.adapters.openenv`: an OpenEnv server and typed client (``[openenv]``)
- :mod:`clinic_env.adapters.skyrl`: a SkyRL-gym ``BaseTextEnv`` (``[skyrl]``)
- :mod:`clinic_env.adapters.verl`: a verl ``AgentLoopBase`` registered by name (``[verl]``)

Nothing here is imported by the engine.
"""
