"""One finished consultation laid out for reading: its turns beside the case's hidden facts.

Browsing happens after the fact, so the case's facts and answer are shown with the
transcript: which facts the doctor drew out and when, the scores, and each reward part
summed over the episode. The case is looked up only in a dataset the page may open (see
:mod:`clinic_env.web.shelf`): browsing never starts a download nor reads a path a results
file names outside the runs folder.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from clinic_env.schema.case import Case


def reward_totals(turns: list[dict[str, Any]]) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for turn in turns:
        for name, value in (turn.get("reward_breakdown") or {}).items():
            totals[name] += float(value)
    return dict(sorted(totals.items()))


def consultation_detail(
    record: dict[str, Any], index: int, find_case: Callable[[str, str], Case | None]
) -> dict[str, Any]:
    """What the consultation page shows: the record, the case's facts (``find_case`` gives
    the case, or None where it may not be read), the reward sums."""
    transcript = record.get("transcript", record)
    turns = list(transcript.get("turns") or ())
    told_at: dict[int, int] = {}
    for turn in turns:
        for fact in turn.get("facts_revealed") or ():
            told_at.setdefault(int(fact), int(turn["index"]))
    case = find_case(str(transcript["dataset"]), str(transcript["case_id"]))
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
