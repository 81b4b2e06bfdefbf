"""One finished consultation laid out for reading: its turns beside the case's hidden facts.

Browsing happens after the fact, so the case's facts and answer are shown with the
transcript: which facts the doctor drew out and when, the scores, and each reward part
summed over the episode. The case is looked up only where it is at hand (a bundled or
already downloaded dataset, or a local path): browsing never starts a download.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from clinic_env.datasets import at_hand, find_case
from clinic_env.errors import ClinicEnvError
from clinic_env.schema.case import Case


def case_at_hand(dataset: str, case_id: str) -> Case | None:
    """The case, if its dataset can be read without a download; None otherwise."""
    if not at_hand(dataset):
        return None
    try:
        return find_case(dataset, case_id)
    except ClinicEnvError:
        return None


def reward_totals(turns: list[dict[str, Any]]) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for turn in turns:
        for name, value in (turn.get("reward_breakdown") or {}).items():
            totals[name] += float(value)
    return dict(sorted(totals.items()))


def consultation_detail(record: dict[str, Any], index: int) -> dict[str, Any]:
    """What the consultation page shows: the record, the case's facts, the reward sums."""
    transcript = record.get("transcript", record)
    turns = list(transcript.get("turns") or ())
    told_at: dict[int, int] = {}
    for turn in turns:
        for fact in turn.get("facts_revealed") or ():
            told_at.setdefault(int(fact), int(turn["index"]))
    case = case_at_hand(str(transcript["dataset"]), str(transcript["case_id"]))
    case_payload = None
    if case is not None:
        truth = case.ground_truth
        case_payload = {
            "patient": case.demographics.description,
            "diagnosis": truth.diagnosis,
            "aliases": list(truth.aliases),
            "differentials": [d.model_dump() for d in truth.differentials],
            "facts": [
                {"category": fact.category, "text": fact.text, "told_at": told_at.get(number)}
                for number, fact in enumerate(case.facts)
            ],
        }
    return {
        "index": index,
        "cell": record.get("cell"),
        "transcript": transcript,
        "case": case_payload,
        "reward_totals": reward_totals(turns),
    }
