"""A consultation step by step, as in a notebook cell: the doctor is you (or your policy)."""

from clinic_env import ClinicEnv

env = ClinicEnv("starter", persona="anxious", render_mode="ansi")
observation, info = env.reset(seed=0, options={"case_id": "surg-001"})
print(observation, "\n")
for message in (
    "What brings you in today?",
    "When did it start, and where exactly is the pain?",
    "Have you been sick or off your food?",
    "REQUEST EXAM: abdomen",
    "REQUEST TEST: CBC",
    "DIAGNOSIS READY: Acute appendicitis; Mesenteric lymphadenitis; Infectious gastroenteritis",
):
    observation, reward, terminated, truncated, info = env.step(message)
    print(f"> {message}\n{observation}\n  reward {reward:+.3f} {info['reward_breakdown']}\n")
    if terminated or truncated:
        break
print(info["score"])
