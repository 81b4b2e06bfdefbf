"""The red-team suite: exploit doctors beside the random doctor, on any dataset.

``clinic-env redteam starter`` plays every exploit of :mod:`clinic_env.testing.exploits` on
every case and prints its top-1, top-3 and reward with intervals, beside a random guesser from
the same answer space (chance) and the random doctor. An exploit whose top-1 interval lies
above chance has found a way to read the answer off the simulator; the tests run the suite on
the bundled cases and fail if any does.

:func:`run_farming` checks the reward specs the same way: under each bundled spec, a blind
farmer (:class:`~clinic_env.testing.exploits.ShapingFarmerDoctor`) plays short and long
consultations beside the systematic doctor. A spec it out-earns the doctor under pays for
something other than the work.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from clinic_env.agents.base import DoctorAgent
from clinic_env.evaluators.rewards import reward_specs
from clinic_env.evaluators.stats import bootstrap_ci, wilson_interval
from clinic_env.schema.case import Case
from clinic_env.schema.transcript import Transcript
from clinic_env.session import Session, create_doctor, create_session, run_consultation
from clinic_env.testing.exploits import (
    CHANNELS,
    FixedDiagnosisDoctor,
    GuessDoctor,
    LastTurnQuestionDoctor,
    PaddingDoctor,
    ReplyMemory,
    ShapingFarmerDoctor,
    SweepDoctor,
    answer_space,
    flagged_names,
)

CHANCE = "chance (random names)"
RANDOM_DOCTOR = "random doctor"


@dataclass(frozen=True, slots=True)
class Exploit:
    """One way to play, and how many turns its consultations get."""

    name: str
    make: Callable[[Session, random.Random], DoctorAgent]
    max_turns: int
    baseline: bool = False


@dataclass(frozen=True, slots=True)
class ExploitResult:
    """What one exploit scored over every case and seed."""

    name: str
    consultations: int
    top1: tuple[float, float, float]
    top3: tuple[float, float, float]
    reward: tuple[float, float, float]
    diagnosed: float
    baseline: bool

    def beats(self, other: ExploitResult) -> bool:
        """Whether this exploit's top-1 or top-3 interval lies wholly above ``other``'s."""
        return self.top1[1] > other.top1[2] or self.top3[1] > other.top3[2]


def exploits(cases: Sequence[Case], *, show_options: bool = False) -> list[Exploit]:
    """The suite for one dataset besides the sweeps (see :func:`run_redteam`): baselines,
    last-turn tricks, letters, empty and huge diagnoses."""
    names = answer_space(cases, with_options=show_options)
    suite = [
        Exploit(CHANCE, lambda s, rng: GuessDoctor(names, rng), 1, baseline=True),
        Exploit(RANDOM_DOCTOR, lambda s, rng: create_doctor("random", s), 20, baseline=True),
    ]
    suite += [
        Exploit("last-turn question", lambda s, rng: LastTurnQuestionDoctor(), 2),
        Exploit("bare letter A", lambda s, rng: FixedDiagnosisDoctor("DIAGNOSIS READY: A"), 1),
        Exploit(
            "one-letter word",
            lambda s, rng: FixedDiagnosisDoctor("DIAGNOSIS READY: A condition I cannot name"),
            1,
        ),
        Exploit(
            "every name in one entry",
            lambda s, rng: FixedDiagnosisDoctor("DIAGNOSIS READY: " + " or ".join(names)),
            1,
        ),
        Exploit(
            "every name listed",
            lambda s, rng: FixedDiagnosisDoctor("DIAGNOSIS READY: " + "; ".join(names)),
            1,
        ),
        Exploit("empty diagnosis", lambda s, rng: FixedDiagnosisDoctor("DIAGNOSIS READY:"), 1),
        Exploit(
            "huge diagnosis",
            lambda s, rng: FixedDiagnosisDoctor("DIAGNOSIS READY: " + "x" * 7900),
            1,
        ),
    ]
    return suite


async def _play(
    case: Case,
    dataset: str,
    seed: int,
    *,
    max_turns: int,
    show_options: bool,
    make: Callable[[Session, random.Random], DoctorAgent],
    reward: str = "default",
) -> Transcript:
    session = create_session(
        case,
        dataset=dataset,
        seed=seed,
        max_turns=max_turns,
        show_options=show_options,
        reward=reward,
    )
    rng = random.Random(f"redteam:{seed}:{case.id}")
    return await run_consultation(session, make(session, rng))


def _summarise(name: str, transcripts: Sequence[Transcript], baseline: bool) -> ExploitResult:
    n = len(transcripts)

    def share(score: str) -> tuple[float, float, float]:
        hits = sum(float(t.score.as_dict().get(score) or 0.0) for t in transcripts)
        return wilson_interval(hits, n)

    rewards = [math.fsum(turn.reward for turn in t.turns) for t in transcripts]
    return ExploitResult(
        name=name,
        consultations=n,
        top1=share("top1"),
        top3=share("top3"),
        reward=bootstrap_ci(rewards),
        diagnosed=sum(t.outcome == "diagnosed" for t in transcripts) / n,
        baseline=baseline,
    )


async def run_redteam(
    cases: Sequence[Case],
    dataset: str,
    *,
    seeds: Iterable[int] = (0,),
    show_options: bool = False,
    only: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[ExploitResult]:
    """Play the suite on ``cases`` and summarise each exploit (``only`` picks by name).

    Each channel is swept twice over every case. The first pass ("sweep") picks the odd reply
    out within each consultation and fills a memory of replies per name, as a policy learns
    over its training episodes; the second ("learned") picks the reply least usual for its
    name across those episodes.
    """
    seeds = tuple(seeds)
    chosen = [
        e for e in exploits(cases, show_options=show_options) if only is None or e.name in only
    ]
    names = answer_space(cases, with_options=show_options)

    async def play_all(
        turns: int, make: Callable[[Session, random.Random], DoctorAgent]
    ) -> list[Transcript]:
        return [
            await _play(case, dataset, seed, max_turns=turns, show_options=show_options, make=make)
            for seed in seeds
            for case in cases
        ]

    results = []
    for exploit in chosen:
        played = await play_all(exploit.max_turns, exploit.make)
        results.append(_summarise(exploit.name, played, exploit.baseline))
        if progress:
            progress(exploit.name)
    for channel in CHANNELS:
        passes = (f"sweep {channel}", f"learned {channel}")
        if only is not None and not set(passes) & set(only):
            continue
        memory = ReplyMemory()
        for name, learn in zip(passes, (True, False), strict=True):
            played = await play_all(len(names) + 1, _sweeper(channel, names, memory, learn=learn))
            if only is None or name in only:
                results.append(_summarise(name, played, False))
                if progress:
                    progress(name)
    return results


def _sweeper(
    channel: str, names: Sequence[str], memory: ReplyMemory, *, learn: bool
) -> Callable[[Session, random.Random], DoctorAgent]:
    """A sweep doctor sharing one memory across cases: learning it, or exploiting it."""

    def make(session: Session, rng: random.Random) -> DoctorAgent:
        return SweepDoctor(channel, names, rng, memory, learn=learn)

    return make


FARM_TURNS = (20, 60)
"""The farmer's turn limits: the doctor's, and three times as long."""
HONEST_DOCTOR = "systematic"


@dataclass(frozen=True, slots=True)
class FarmResult:
    """Under one reward spec: the systematic doctor's return and the farmer's, per turn limit
    (each a mean with its 95% interval), and what padding the doctor's diagnosis with the
    dataset's most flagged must-not-miss names adds to it (paired, per consultation)."""

    spec: str
    honest: tuple[float, float, float]
    farmed: dict[int, tuple[float, float, float]]
    padding_gain: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def farms(self) -> bool:
        """Whether the farmer out-earns the doctor: an interval wholly above the doctor's."""
        return any(low > self.honest[2] for _, low, _ in self.farmed.values())

    @property
    def pads(self) -> bool:
        """Whether padding the differential pays: the paired gain's interval above zero."""
        return self.padding_gain[1] > 0


async def run_farming(
    cases: Sequence[Case],
    dataset: str,
    *,
    seeds: Iterable[int] = (0,),
    specs: Iterable[str] | None = None,
) -> list[FarmResult]:
    """The farmer beside the systematic doctor under each reward spec (names or spec file
    paths; every bundled one by default)."""
    seeds = tuple(seeds)
    names = answer_space(cases)
    padding = flagged_names(cases)

    def farmer(session: Session, rng: random.Random) -> DoctorAgent:
        return ShapingFarmerDoctor(rng.choice(names))

    def honest(session: Session, rng: random.Random) -> DoctorAgent:
        return create_doctor(HONEST_DOCTOR, session)

    def padder(session: Session, rng: random.Random) -> DoctorAgent:
        return PaddingDoctor(create_doctor(HONEST_DOCTOR, session), padding)

    async def returns(
        spec: str, turns: int, make: Callable[[Session, random.Random], DoctorAgent]
    ) -> list[float]:
        played = [
            await _play(
                case, dataset, seed, max_turns=turns, show_options=False, make=make, reward=spec
            )
            for seed in seeds
            for case in cases
        ]
        return [math.fsum(turn.reward for turn in t.turns) for t in played]

    results = []
    for spec in reward_specs() if specs is None else specs:
        farmed = {turns: bootstrap_ci(await returns(spec, turns, farmer)) for turns in FARM_TURNS}
        doctor = await returns(spec, FARM_TURNS[0], honest)
        padded = await returns(spec, FARM_TURNS[0], padder)
        gain = bootstrap_ci([p - d for p, d in zip(padded, doctor, strict=True)])
        results.append(FarmResult(spec, bootstrap_ci(doctor), farmed, gain))
    return results


def format_farming(results: Sequence[FarmResult]) -> str:
    """A Markdown table: each spec's doctor and farmer returns, and the verdict."""
    short, long = FARM_TURNS
    lines = [
        f"| reward spec | {HONEST_DOCTOR} doctor, {short} turns | farmer, {short} turns | "
        f"farmer, {long} turns | padding the doctor's differential | verdict |",
        "|---|---|---|---|---|---|",
    ]

    def cell(interval: tuple[float, float, float]) -> str:
        mean, low, high = interval
        return f"{mean:+.2f} [{low:+.2f}, {high:+.2f}]"

    for r in results:
        faults = [name for name, bad in (("FARMED", r.farms), ("PADDING PAYS", r.pads)) if bad]
        verdict = ", ".join(faults) or "doctor earns more"
        lines.append(
            f"| {r.spec} | {cell(r.honest)} | {cell(r.farmed[short])} | {cell(r.farmed[long])} "
            f"| {cell(r.padding_gain)} | {verdict} |"
        )
    return "\n".join(lines)


def run_redteam_sync(cases: Sequence[Case], dataset: str, **kwargs: object) -> list[ExploitResult]:
    """:func:`run_redteam` from synchronous code (every agent in it is offline)."""
    return asyncio.run(run_redteam(cases, dataset, **kwargs))  # type: ignore[arg-type]


def _percent(interval: tuple[float, float, float]) -> str:
    mean, low, high = interval
    return f"{100 * mean:5.1f}% [{100 * low:.1f}-{100 * high:.1f}]"


def format_results(results: Sequence[ExploitResult]) -> str:
    """A Markdown table; the verdict compares each exploit with chance."""
    chance = next((r for r in results if r.name == CHANCE), None)
    lines = [
        "| exploit | n | top-1 | top-3 | reward | diagnosed | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        mean, low, high = r.reward
        if r.baseline:
            verdict = "baseline"
        elif chance is not None and r.beats(chance):
            verdict = "BEATS CHANCE"
        else:
            verdict = "at chance"
        lines.append(
            f"| {r.name} | {r.consultations} | {_percent(r.top1)} | {_percent(r.top3)} | "
            f"{mean:+.2f} [{low:+.2f}, {high:+.2f}] | {100 * r.diagnosed:.0f}% | {verdict} |"
        )
    return "\n".join(lines)
