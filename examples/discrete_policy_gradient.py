"""Train a small policy on the discrete consultation (numpy only, CPU, a few minutes).

The policy is linear in a few features per action (REINFORCE with a running baseline):
a bias per menu item, its kind (question, exam, test, diagnosis) and the kind against the
turn and the last reply's new facts, and for a diagnosis its candidate's evidence (the slot
itself carries no bias: candidates are shuffled). It trains on 30 bundled cases and is
scored, greedily, on the 11 held out, against the random and systematic doctors (free-text
doctors playing the same held-out cases with the same reward spec and turn limit) and a
uniformly random discrete policy.

    python examples/discrete_policy_gradient.py --episodes 1500 --lr 0.03 --plot curve.png

Prints a table of held-out figures and saves the learning curve (matplotlib, from the
``examples`` extra).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

import numpy as np

from clinic_env.datasets import load_cases
from clinic_env.envs.discrete import CANDIDATE_FEATURES, DiscreteClinicEnv
from clinic_env.session import create_doctor, create_session, run_consultation

MAX_TURNS = 20
HELD_OUT = 11
EVAL_SEEDS = (0, 1, 2)
KINDS = ("ask", "exam", "test", "diagnose")


class LinearPolicy:
    """Softmax over actions of theta . phi(state, action), with invalid actions masked."""

    def __init__(self, env: DiscreteClinicEnv, seed: int) -> None:
        self.menu_size = len(env.menu)
        self.n_actions = int(env.action_space.n)
        kinds = [KINDS.index(kind) for kind, _ in env.menu]
        self.kind = np.array(kinds + [3] * (self.n_actions - self.menu_size))
        self.n_features = self.menu_size + 3 * len(KINDS) + CANDIDATE_FEATURES
        self.theta = np.zeros(self.n_features)
        self.rng = np.random.default_rng(seed)

    def features(self, observation: np.ndarray) -> np.ndarray:
        """phi for every action at once: shape (actions, features)."""
        turn, new_facts = observation[self.menu_size : self.menu_size + 2]
        slots = observation[self.menu_size + 2 :].reshape(-1, CANDIDATE_FEATURES)
        phi = np.zeros((self.n_actions, self.n_features))
        every = np.arange(self.n_actions)
        phi[np.arange(self.menu_size), np.arange(self.menu_size)] = 1.0
        base = self.menu_size
        phi[every, base + 3 * self.kind] = 1.0
        phi[every, base + 3 * self.kind + 1] = turn
        phi[every, base + 3 * self.kind + 2] = new_facts
        base += 3 * len(KINDS)
        evidence = slots.copy()
        evidence[:, 3] *= turn  # trusting the leading candidate more as the workup goes on
        phi[self.menu_size :, base:] = evidence
        return phi

    def probabilities(self, phi: np.ndarray, mask: np.ndarray) -> np.ndarray:
        logits = phi @ self.theta
        logits = np.where(mask > 0, logits, -np.inf)
        logits -= logits.max()
        weights = np.exp(logits)
        return weights / weights.sum()

    def act(self, observation: np.ndarray, mask: np.ndarray, greedy: bool) -> tuple[int, tuple]:
        phi = self.features(observation)
        probs = self.probabilities(phi, mask)
        action = int(np.argmax(probs)) if greedy else int(self.rng.choice(len(probs), p=probs))
        return action, (phi, probs)


def play(
    env: DiscreteClinicEnv, policy: LinearPolicy | None, seed: int, case_id: str, greedy: bool
):
    """One episode; returns its return, top-1 and the (phi, probs, action, reward) steps."""
    observation, info = env.reset(seed=seed, options={"case_id": case_id})
    steps, done, rng = [], False, np.random.default_rng([seed, len(case_id), ord(case_id[-1])])
    while not done:
        mask = info["action_mask"]
        if policy is None:
            action, trace = int(rng.choice(np.flatnonzero(mask))), None
        else:
            action, trace = policy.act(observation, mask, greedy)
        observation, reward, terminated, truncated, info = env.step(action)
        steps.append((trace, action, float(reward)))
        done = terminated or truncated
    return sum(r for *_, r in steps), float(info["score"].get("top1", 0.0)), steps


def train(episodes: int, seed: int, lr: float) -> tuple[LinearPolicy, dict[str, list[float]]]:
    cases = load_cases("starter")
    train_ids = [c.id for c in cases[:-HELD_OUT]]
    held_ids = [c.id for c in cases[-HELD_OUT:]]
    env = DiscreteClinicEnv("starter", max_turns=MAX_TURNS)
    policy = LinearPolicy(env, seed)
    rng = np.random.default_rng(seed)
    baseline, curve = 0.0, {"episode": [], "train_return": [], "held_return": [], "held_top1": []}
    recent: list[float] = []
    for episode in range(1, episodes + 1):
        case_id = str(rng.choice(train_ids))
        total, _, steps = play(env, policy, int(rng.integers(2**31)), case_id, greedy=False)
        baseline += 0.02 * (total - baseline)
        to_go = np.cumsum([r for *_, r in steps][::-1])[::-1]
        for ((phi, probs), action, _), ret in zip(steps, to_go, strict=True):
            grad = phi[action] - probs @ phi
            policy.theta += lr * (ret - baseline) * grad
        recent.append(total)
        if episode % 100 == 0:
            held = [play(env, policy, s, c, greedy=True)[:2] for c in held_ids for s in EVAL_SEEDS]
            curve["episode"].append(episode)
            curve["train_return"].append(float(np.mean(recent)))
            curve["held_return"].append(float(np.mean([h[0] for h in held])))
            curve["held_top1"].append(float(np.mean([h[1] for h in held])))
            recent = []
            print(
                f"episode {episode:5d}  train return {curve['train_return'][-1]:+.3f}  "
                f"held-out return {curve['held_return'][-1]:+.3f}  "
                f"top-1 {curve['held_top1'][-1]:.2f}",
                flush=True,
            )
    return policy, curve


def baselines(seeds: tuple[int, ...] = EVAL_SEEDS) -> dict[str, tuple[float, float]]:
    """Held-out mean return and top-1 of the free-text doctors and a random discrete policy."""
    held = load_cases("starter")[-HELD_OUT:]
    figures = {}
    for name in ("random", "systematic"):
        returns, top1 = [], []
        for case in held:
            for seed in seeds:
                session = create_session(case, seed=seed, max_turns=MAX_TURNS)
                transcript = asyncio.run(run_consultation(session, create_doctor(name, session)))
                returns.append(sum(turn.reward for turn in transcript.turns))
                top1.append(float(transcript.score.as_dict().get("top1", 0.0)))
        figures[f"{name} doctor"] = (float(np.mean(returns)), float(np.mean(top1)))
    env = DiscreteClinicEnv("starter", max_turns=MAX_TURNS)
    runs = [play(env, None, s, c.id, greedy=False)[:2] for c in held for s in seeds]
    figures["random discrete policy"] = (
        float(np.mean([r[0] for r in runs])),
        float(np.mean([r[1] for r in runs])),
    )
    return figures


def plot(curve: dict[str, list[float]], figures: dict[str, tuple[float, float]], path: Path):
    import matplotlib  # noqa: PLC0415 - optional: the `examples` extra

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.plot(curve["episode"], curve["train_return"], label="trained policy (train cases)")
    left.plot(curve["episode"], curve["held_return"], label="trained policy (held-out, greedy)")
    right.plot(curve["episode"], curve["held_top1"], label="trained policy (held-out, greedy)")
    for (name, (ret, top1)), style in zip(figures.items(), (":", "--", "-."), strict=True):
        left.axhline(ret, linestyle=style, color="grey", label=f"{name} (held-out)")
        right.axhline(top1, linestyle=style, color="grey", label=f"{name} (held-out)")
    left.set(xlabel="training episodes", ylabel="mean return", title="Return")
    right.set(xlabel="training episodes", ylabel="top-1 accuracy", title="Diagnosis")
    left.legend(fontsize=7)
    right.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=0.03)
    parser.add_argument("--plot", type=Path, default=Path("discrete_curve.png"))
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    _, curve = train(args.episodes, args.seed, args.lr)
    figures = baselines()
    plot(curve, figures, args.plot)
    figures["trained policy"] = (curve["held_return"][-1], curve["held_top1"][-1])
    title = f"held-out ({HELD_OUT} cases x {len(EVAL_SEEDS)} seeds)"
    print(f"\n{title:32s} {'return':>8s} {'top-1':>6s}")
    for name, (ret, top1) in figures.items():
        print(f"{name:32s} {ret:+8.3f} {top1:6.2f}")
    print(f"\nlearning curve: {args.plot}")
    if args.json:
        args.json.write_text(json.dumps({"curve": curve, "figures": figures}, indent=2))


if __name__ == "__main__":
    main()
