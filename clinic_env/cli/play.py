"""``clinic-env play --as doctor|patient``: hold one consultation yourself, in the terminal.

As the doctor you interview a simulated patient; as the patient you are interviewed by a
scripted or model doctor and answer from the case notes shown to you. The transcript is
saved in the same format as batch runs.
"""

from __future__ import annotations

import argparse
import asyncio
import random
from pathlib import Path

from clinic_env import agents as _agents  # noqa: F401 - registers the built-in agents
from clinic_env.agents.human import HumanDoctor, HumanPatient
from clinic_env.cli.options import add_role_options, make_client, resolve_roles
from clinic_env.datasets import load_cases
from clinic_env.errors import UnknownNameError
from clinic_env.roles import RoleContext
from clinic_env.runner.store import TranscriptWriter
from clinic_env.schema.case import Case
from clinic_env.session import create_doctor, create_session, run_consultation


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser("play", help="hold a consultation yourself, as doctor or patient")
    parser.add_argument("--as", dest="role", choices=("doctor", "patient"), required=True)
    parser.add_argument("dataset", nargs="?", default="starter", help="dataset name or path")
    parser.add_argument("--case", default=None, help="case id (default: one drawn by --seed)")
    parser.add_argument("--persona", default=None, help="patient persona (default: plain)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-turns", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path("runs/play"), help="transcript folder")
    add_role_options(parser)
    parser.set_defaults(handler=play)


def pick_case(cases: tuple[Case, ...], case_id: str | None, seed: int) -> Case:
    if case_id is None:
        return random.Random(seed).choice(cases)
    for case in cases:
        if case.id == case_id:
            return case
    raise UnknownNameError(f"no case {case_id!r} in this dataset")


def patient_notes(case: Case) -> str:
    """What a human playing the patient needs: who they are and what they know."""
    view = case.patient_view()
    who = view.demographics.description
    if view.informant == "caregiver":
        who = f"the {view.caregiver} of a {who}"
    lines = [f"You are {who}. Answer the doctor from these notes only:"]
    lines += [f"  - {fact.says or fact.text}" for fact in view.facts]
    lines.append(f'You start with: "{view.opening_statement}"')
    return "\n".join(lines)


def play(args: argparse.Namespace) -> int:
    roles = resolve_roles(args)
    case = pick_case(load_cases(args.dataset), args.case, args.seed)
    context = RoleContext(case, args.seed, client=make_client(args))
    human_doctor = args.role == "doctor"
    session = create_session(
        case,
        dataset=str(args.dataset),
        persona=args.persona,
        patient="offline" if not human_doctor else roles.patient,
        measurement=roles.measurement,
        judge=roles.judge,
        max_turns=args.max_turns,
        seed=args.seed,
        doctor="human" if human_doctor else roles.doctor,
        context=context,
    )
    if human_doctor:
        doctor = HumanDoctor()
    else:
        session.patient = HumanPatient(case.patient_view())
        session.agent_names["patient"] = "human"
        session.offline = False
        print(patient_notes(case), "\n")
        doctor = create_doctor(roles.doctor, session, context)
    transcript = asyncio.run(run_consultation(session, doctor))
    if transcript.turns:
        print(transcript.turns[-1].observation)
    print(
        f"\nOutcome: {transcript.outcome}" + (f" ({transcript.error})" if transcript.error else "")
    )
    scores = [
        f"{c.name} {'failed' if c.value is None else f'{c.value:.3g}'}"
        for c in transcript.score.components
    ]
    if scores:
        print("Scores: " + ", ".join(scores))
    print(f"The diagnosis was: {case.ground_truth.diagnosis}")
    with TranscriptWriter(args.out) as writer:
        writer.write(transcript)
    print(f"Transcript saved to {args.out / 'transcripts.jsonl'}")
    return 0
