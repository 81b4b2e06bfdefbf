"""A discrete-action consultation for classic RL: menus in, numeric features out.

Each action is one pick: a question from the scripted question bank, an exam system from
the exam catalogue, a test from a fixed menu (the tests the knowledge base names most
often), or a diagnosis from the case's candidate list (its MCQ options when it has them,
else the diagnosis and its differentials, shuffled per episode so a slot says nothing about
which one is right). The pick is sent to the same session as free text, so rewards, scores
and transcripts are the text env's.

The observation is what the doctor has learned, as numbers: which menu items were used, the
turn, how many new facts the last reply gave, and for each candidate slot how much of that
disease's typical findings and supporting results the replies so far mention (from the
knowledge base; clauses that deny a finding do not count). ``info["action_mask"]`` marks the
menu items not used yet (a repeat only costs a turn) and the slots that hold a candidate;
masked actions are still accepted, and played as the text env would play them.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from clinic_env.agents.doctors.ranking import (
    DiseaseProfile,
    positive_stems,
    profile_index,
    profiles,
)
from clinic_env.agents.doctors.script import doctor_script
from clinic_env.envs.gym_env import ClinicEnv
from clinic_env.language.knowledge import exam_catalog
from clinic_env.protocol.consultation import DEFAULT_MAX_TURNS
from clinic_env.schema.case import Case

TEST_MENU_SIZE = 20
MAX_CANDIDATES = 8
CANDIDATE_FEATURES = 4  # present, findings support, results support, leading
FACTS_SCALE = 5.0


@functools.cache
def question_bank() -> tuple[str, ...]:
    script = doctor_script()
    return (*(q.text for q in script.history_questions), *script.extra_questions)


@functools.cache
def exam_menu() -> tuple[str, ...]:
    return tuple(system.name for system in exam_catalog().systems)


@functools.cache
def test_menu(size: int = TEST_MENU_SIZE) -> tuple[str, ...]:
    """The tests the knowledge base's diseases name most often (ties in catalogue order)."""
    counts = Counter(test for profile in profiles() for test in profile.test_names)
    return tuple(name for name, _ in counts.most_common(size))


def candidates_of(case: Case) -> tuple[str, ...]:
    """The names a diagnosis is picked from: MCQ options, else truth and differentials."""
    if case.options:
        return tuple(text for _, text in sorted(case.options.items()))
    truth = case.ground_truth
    return (truth.diagnosis, *(d.diagnosis for d in truth.differentials))


def _coverage(parts: tuple[frozenset[str], ...], present: set[str]) -> float:
    """Mean share of each part's stems present: graded evidence for one disease."""
    if not parts:
        return 0.0
    return float(np.mean([len(part & present) / len(part) for part in parts]))


class DiscreteClinicEnv(gym.Env[np.ndarray, np.int64]):
    """``DiscreteClinicEnv("starter")``: the consultation with menu actions (see module doc).

    Keyword arguments other than ``max_candidates`` are :class:`ClinicEnv`'s.
    """

    metadata = {"render_modes": ["ansi"]}  # noqa: RUF012 - Gym API

    def __init__(
        self,
        dataset: str = "starter",
        *,
        max_turns: int = DEFAULT_MAX_TURNS,
        max_candidates: int = MAX_CANDIDATES,
        cases: Sequence[str] | None = None,
        **text_env_options: Any,
    ) -> None:
        self.text_env = ClinicEnv(dataset, max_turns=max_turns, cases=cases, **text_env_options)
        self.render_mode = self.text_env.render_mode
        self.max_turns = max_turns
        self.max_candidates = max_candidates
        self.menu: tuple[tuple[str, str], ...] = (
            *(("ask", q) for q in question_bank()),
            *(("exam", e) for e in exam_menu()),
            *(("test", t) for t in test_menu()),
        )
        self.action_space: spaces.Discrete = spaces.Discrete(len(self.menu) + max_candidates)
        size = len(self.menu) + 2 + max_candidates * CANDIDATE_FEATURES
        self.observation_space = spaces.Box(0.0, 1.0, shape=(size,), dtype=np.float32)
        self.candidates: tuple[str, ...] = ()
        self._profiles: list[DiseaseProfile | None] = []
        self._used = np.zeros(len(self.menu), dtype=np.float32)
        self._history: set[str] = set()
        self._results: set[str] = set()
        self._turn = 0
        self._new_facts = 0

    @property
    def action_mask(self) -> np.ndarray:
        """Menu items not used yet and the candidate slots that hold a candidate."""
        mask = np.ones(self.action_space.n, dtype=np.int8)
        mask[: len(self.menu)] = self._used == 0
        mask[len(self.menu) + len(self.candidates) :] = 0
        return mask

    def describe(self, action: int) -> str:
        """The message an action sends."""
        if action < len(self.menu):
            kind, text = self.menu[action]
            return {"ask": text, "exam": f"REQUEST EXAM: {text}"}.get(kind, f"REQUEST TEST: {text}")
        return f"DIAGNOSIS READY: {self.candidates[action - len(self.menu)]}"

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        opening, info = self.text_env.reset(seed=seed, options=options)
        assert self.text_env.session is not None
        names = list(candidates_of(self.text_env.session.case))[: self.max_candidates]
        order = self.text_env.np_random.permutation(len(names))
        self.candidates = tuple(names[i] for i in order)
        known = profiles()
        indices = [profile_index(name) for name in self.candidates]
        self._profiles = [known[i] if i is not None else None for i in indices]
        self._used[:] = 0
        self._history = positive_stems(opening)
        self._results = set()
        self._turn = 0
        self._new_facts = 0
        info = {**info, "candidates": self.candidates, "action_mask": self.action_mask}
        return self._observation(), info

    def step(self, action: np.int64 | int) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict]:
        action = int(action)
        if not 0 <= action < self.action_space.n:
            raise ValueError(f"action {action} is outside {self.action_space}")
        if action >= len(self.menu) + len(self.candidates):
            message = "DIAGNOSIS READY:"  # an empty slot: invalid, never a made-up diagnosis
        else:
            message = self.describe(action)
        observation, reward, terminated, truncated, info = self.text_env.step(message)
        if action < len(self.menu):
            self._used[action] = 1.0
            kind = self.menu[action][0]
            (self._results if kind == "test" else self._history).update(positive_stems(observation))
        self._turn += 1
        self._new_facts = int(info.get("new_facts", 0))
        info = {**info, "message": message, "action_mask": self.action_mask}
        return self._observation(), reward, terminated, truncated, info

    def render(self) -> str | None:
        return self.text_env.render()

    def _observation(self) -> np.ndarray:
        findings = self._history | self._results
        slots = np.zeros((self.max_candidates, CANDIDATE_FEATURES), dtype=np.float32)
        for i, profile in enumerate(self._profiles):
            slots[i, 0] = 1.0
            if profile is not None:
                slots[i, 1] = _coverage(profile.findings, findings)
                slots[i, 2] = _coverage(profile.supports, self._results)
        if self._profiles:
            evidence = slots[: len(self._profiles), 1] + slots[: len(self._profiles), 2]
            slots[int(np.argmax(evidence)), 3] = float(evidence.max() > 0)
        progress = [self._turn / self.max_turns, min(self._new_facts / FACTS_SCALE, 1.0)]
        return np.concatenate(
            [self._used, np.asarray(progress, dtype=np.float32), slots.ravel()]
        ).astype(np.float32)
