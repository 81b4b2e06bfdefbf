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
from clinic_env.agents.human import HumanDoctor, HumanPatient, patient_notes
from clinic_env.cli.options import add_role_options, make_client, resolve_roles
from clinic_env.datasets import find_case, load_cases
from clinic_env.roles import AgentFactory, RoleContext
from clinic_env.runner.store import TranscriptWriter
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


def play(args: argparse.Namespace) -> int:
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
        agents=agents,
    )
    if human_doctor:
        doctor = HumanDoctor()
    else:
        print(patient_notes(session.patient_view), "\n")
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
