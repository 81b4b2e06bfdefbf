"""Doctor and patient as PettingZoo agents: a scripted doctor and a (trivial) patient policy."""

from clinic_env.envs.parallel import parallel_env

env = parallel_env(dataset="starter", max_turns=6)
observations, infos = env.reset(seed=0)
doctor_lines = iter(("What brings you in today?", "REQUEST EXAM: general", "DIAGNOSIS READY: Gout"))
while env.agents:
    acting = "doctor" if infos["doctor"]["acting"] else "patient"
    if acting == "doctor":
        actions = {"doctor": next(doctor_lines), "patient": ""}
    else:  # your patient policy reads observations["patient"] (its brief, then each question)
        actions = {"doctor": "", "patient": "It has been bothering me for a few days."}
    observations, rewards, terminations, truncations, infos = env.step(actions)
    print(acting, "->", rewards)
print(infos["doctor"]["outcome"], infos["doctor"]["score"]["top1"])
