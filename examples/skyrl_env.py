"""The SkyRL-gym env as SkyRL's generator uses it. In a SkyRL run, set the dataset rows'
``env_class`` to ``clinic_env`` and import ``clinic_env.adapters.skyrl`` in the entrypoint.

    pip install "clinic-env[skyrl]"
"""

import skyrl_gym

import clinic_env.adapters.skyrl  # noqa: F401 - registers "clinic_env"

env = skyrl_gym.make(
    "clinic_env", env_config={"dataset": "starter"}, extras={"case_id": "surg-001"}
)
chat, _ = env.init([{"role": "system", "content": "You are the doctor."}])
for message in ("Where is the pain?", "DIAGNOSIS READY: Acute appendicitis"):
    output = env.step(message)
    print(output["reward"], output["metadata"]["reward_breakdown"])
print(env.get_metrics())
