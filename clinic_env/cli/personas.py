"""``clinic-env personas list``: the bundled personas, one line each."""

from __future__ import annotations

import argparse

from clinic_env.agents.personas import personas


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser("personas", help="list the patient personas")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="one line per persona")
    listing.set_defaults(handler=list_personas)


def list_personas(args: argparse.Namespace) -> int:
    known = personas()
    width = max(map(len, known))
    for persona in known.values():
        print(f"{persona.id:<{width}}  {persona.summary}")
    return 0
