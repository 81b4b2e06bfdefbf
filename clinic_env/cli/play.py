"""``clinic-env play --as doctor|patient``: hold one consultation yourself, in the terminal.

As the doctor you interview a simulated patient (``help`` or ``?`` lists the commands and
costs no turn); as the patient you are interviewed by a scripted or model doctor and answer
from the case notes shown to you. Either way the end screen gives the answer, where it
ranked on the doctor's list, the reward and its parts, and the facts drawn out and missed.
Ctrl-C stops the consultation and saves it unfinished. The transcript is saved in the same
format as batch runs.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
from pathlib import Path

from clinic_env import agents as _agents  # noqa: F401 - registers the built-in agents
from clinic_env.agents.base import DoctorAgent
from clinic_env.agents.human import HumanDoctor, HumanPatient, patient_notes
from clinic_env.cli.options import add_role_options, make_client, resolve_roles
from clinic_env.datasets import find_case, load_cases
from clinic_env.evaluators.fidelity import DOCTOR_FAILURE_PREFIX
from clinic_env.options import SessionOptions
from clinic_env.roles import AgentFactory, RoleContext
from clinic_env.runner.store import TranscriptWriter
from clinic_env.schema.transcript import Transcript
from clinic_env.session import Session, create_doctor, create_session, run_consultation
from clinic_env.summary import TranscriptSummary, feedback, summarise

STOPPED = "the player stopped the consultation (Ctrl-C)"
SCORE_COLUMNS = 3


def bias_set(text: str) -> tuple[str, ...]:
    """One set of biases, joined by ``+`` (or commas): ``recency+self_diagnosis``."""
    return tuple(name.strip() for name in text.replace(",", "+").split("+") if name.strip())


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser("play", help="hold a consultation yourself, as doctor or patient")
    parser.add_argument("--as", dest="role", choices=("doctor", "patient"), required=True)
    parser.add_argument("dataset", nargs="?", default="starter", help="dataset name or path")
    parser.add_argument("--case", default=None, help="case id (default: one drawn by --seed)")
    parser.add_argument("--persona", default=None, help="patient persona (default: plain)")
    parser.add_argument(
        "--biases",
        type=bias_set,
        default=(),
        help="biases acting in this consultation, joined by '+' (see clinic-env biases list)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-turns", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path("runs/play"), help="transcript folder")
    add_role_options(parser)
    parser.set_defaults(handler=play)


def play(args: argparse.Namespace) -> int:
    """Play one consultation; Ctrl-C saves it unfinished and exits with 130."""
    roles = resolve_roles(args)
    if args.case is None:
        case = random.Random(args.seed).choice(load_cases(args.dataset))
    else:
        case = find_case(args.dataset, args.case)
    context = RoleContext(case, args.seed, client=make_client(args))
    human_doctor = args.role == "doctor"
    agents = {}
    if not human_doctor:
        agents["patient"] = AgentFactory("human", lambda view, persona, rng: HumanPatient(view))
    options = SessionOptions.of(
        persona=args.persona,
        biases=args.biases,
        patient=roles.patient if human_doctor else "offline",
        measurement=roles.measurement,
        judge=roles.judge,
        max_turns=args.max_turns,
    )
    session = create_session(
        case,
        options,
        dataset=str(args.dataset),
        seed=args.seed,
        doctor="human" if human_doctor else roles.doctor,
        context=context,
        agents=agents,
    )
    doctor: DoctorAgent
    if human_doctor:
        doctor = HumanDoctor()
        print("(type help or ? for the commands; Ctrl-C stops and saves)\n")
    else:
        print(notes_for_patient(session), "\n")
        doctor = create_doctor(roles.doctor, session, context)
    stopped = False
    # A person at the keyboard must be able to stop with Ctrl-C even when this process was
    # started with SIGINT ignored (a shell's background job, nohup), which it would inherit.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        transcript = asyncio.run(run_consultation(session, doctor))
    except KeyboardInterrupt:
        # Stopping is the human side's doing: the doctor's fault when the person is the doctor.
        session.abort(f"{DOCTOR_FAILURE_PREFIX}: {STOPPED}" if human_doctor else STOPPED)
        transcript = session.transcript()
        stopped = True
    if transcript.turns and not stopped:
        print(transcript.turns[-1].observation)
    whose = "you" if human_doctor else f"the {transcript.agents.get('doctor', 'doctor')} doctor"
    summary = summarise(transcript, case, session.matcher)
    print("\n" + end_screen(summary, transcript, whose, stopped=stopped))
    with TranscriptWriter(args.out) as writer:
        writer.write(transcript)
    state = "unfinished, " if stopped else ""
    print(f"\nTranscript saved ({state}{len(transcript.turns)} turns) to {writer.path}")
    return 130 if stopped else 0


def notes_for_patient(session: Session) -> str:
    """What the person playing the patient reads: the case notes (the answer withheld), and
    how the persona and any biases act, as the web page shows them."""
    persona = session.persona
    lines = [patient_notes(session.patient_view)]
    if persona.id != "plain":
        lines.append(f"Play the patient as {persona.name}: {persona.summary}")
    lines += session.bias_plan.texts("patient")
    return session.guard.scrub("\n".join(lines))[0]


def _signed(value: float) -> str:
    return f"{value:+.3f}"


def end_screen(
    summary: TranscriptSummary, transcript: Transcript, doctor: str, *, stopped: bool = False
) -> str:
    """The end of a consultation as a person reads it: what the doctor concluded against the
    answer, the reward and its parts, the facts drawn out and missed, tests, model use and
    scores, each on its own lines. ``doctor`` is "you" or "the systematic doctor"."""
    found = summary.found
    assert found is not None, "the end screen needs a summary made with the case"
    lines = ["=" * 72]
    if stopped:
        lines.append(f"Stopped after {summary.turns} turn(s): saved unfinished, not scored.")
    else:
        ending = summary.outcome.replace("_", " ")
        lines.append(f"Consultation over ({ending}) after {summary.turns} turn(s).")
        if summary.error:
            lines.append(f"Error: {summary.error}")
    whose = "Your" if doctor == "you" else f"{doctor[0].upper()}{doctor[1:]}'s"
    listed = [f"{n}. {name}" for n, name in enumerate(summary.differential, 1)]
    lines.append(f"{whose} diagnosis: " + ("; ".join(listed) if listed else "none given"))
    also = f" (also: {', '.join(found.aliases)})" if found.aliases else ""
    lines.append(f"The answer: {found.diagnosis}{also}")
    if not stopped:
        lines += feedback(summary, doctor)
        if found.rank_error:
            lines.append(f"The answer could not be matched: {found.rank_error}")
        paid = {name: value for name, value in summary.reward_parts.items() if value}
        lines.append(f"Reward: {_signed(summary.reward)}" + (", made of" if paid else ""))
        width = max((len(name) for name in paid), default=0)
        lines += [f"  {name:<{width}}  {_signed(value)}" for name, value in paid.items()]
    lines.append(f"Facts drawn out ({len(found.elicited)}):")
    lines += [f"  + {text}" for text in found.elicited] or ["  (none)"]
    lines.append(f"Facts missed ({len(found.missed)}):")
    lines += [f"  - {text}" for text in found.missed] or ["  (none)"]
    if summary.tests:
        tests = [f"{t.name} (${t.cost_usd:,.0f}, {t.turnaround_hours:g} h)" for t in summary.tests]
        lines.append("Tests ordered: " + "; ".join(tests))
    usage = summary.usage
    if usage.calls:
        tokens = usage.prompt_tokens + usage.completion_tokens
        lines.append(f"Model calls: {usage.calls} ({tokens:,} tokens, ${usage.cost_usd:.4f})")
    scores = [
        f"{c.name} {'failed' if c.value is None else f'{c.value:.3g}'}"
        for c in transcript.score.components
    ]
    if scores:
        lines.append("Scores:")
        width = max(len(score) for score in scores) + 2
        for start in range(0, len(scores), SCORE_COLUMNS):
            row = scores[start : start + SCORE_COLUMNS]
            lines.append("  " + "".join(score.ljust(width) for score in row).rstrip())
    return "\n".join(lines)
