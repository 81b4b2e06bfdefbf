"""``clinic-env biases list``: the bundled biases, one line each: who it applies to, where it is
placed, and its source."""

from __future__ import annotations

import argparse

from clinic_env.agents.personas import biases
from clinic_env.schema.persona import Bias


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser("biases", help="list the patient and doctor biases")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="one line per bias")
    listing.set_defaults(handler=list_biases)


def placement(bias: Bias) -> str:
    """Where each role meets the bias: the patient's instructions (and offline behaviour), a
    model doctor's instructions, the brief every doctor reads; "brief if outside" for a doctor
    bias an outside doctor (a policy, a person) is shown in the brief."""
    where = []
    if "patient" in bias.applies_to:
        where.append("patient: instructions")
    if "doctor" in bias.applies_to:
        if bias.placement == "case":
            where.append("doctor: brief")
        elif "brief" in bias.shown_in:
            where.append("doctor: instructions, brief if outside")
        else:
            where.append("doctor: instructions only")
    return "; ".join(where)


def list_biases(args: argparse.Namespace) -> int:
    known = biases()
    width = max(map(len, known))
    placed = {bias_id: placement(bias) for bias_id, bias in known.items()}
    where = max(map(len, placed.values()))
    for bias in known.values():
        roles = "+".join(bias.applies_to)
        print(f"{bias.id:<{width}}  {roles:<14}  {placed[bias.id]:<{where}}  {bias.source}")
    return 0
