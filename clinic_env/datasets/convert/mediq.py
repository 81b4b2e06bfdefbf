"""MediQ's records (its MedQA and CRAFT-MD sets) as clinic-env cases.

A record holds the vignette as ``context`` sentences, the same information as numbered
atomic ``facts``, four ``options``, the ``answer`` text and its letter ``answer_idx``, and the
patient's age and gender. As in MediQ, the doctor starts with the first context sentence and
the question; the patient holds every fact. The answer is the option at ``answer_idx`` (what
MediQ scores against); an ``answer`` text that disagrees with it is reported, and accepted as
well when it is only a slightly different wording of the same option. Options and answers
are kept exactly as written (an answer may be "↓ ↓ ↑ ↓" or "-0.45"), and the answer's kind
(diagnosis, treatment, mechanism, value, other) is read from the question.
"""

from __future__ import annotations

import difflib
import functools
import re
from typing import Any

from clinic_env.datasets.convert.common import (
    RecordContext,
    answer_texts,
    categorised,
    diagnosis_aliases,
    first_as_complaint,
    render,
    same_text,
    strip_numbering,
    value_tokens,
    values_missing_from,
)
from clinic_env.datasets.convert.people import caregiver, demographics
from clinic_env.datasets.convert.rules import AnswerKind, Rules
from clinic_env.language.knowledge import diseases
from clinic_env.language.text import fold
from clinic_env.schema.case import Case

SAME_WORDING = 0.8
"""Similarity (0-1) above which an ``answer`` text is a rewording of its option."""


def looks_like(record: dict[str, Any]) -> bool:
    return "context" in record and ("options" in record or "facts" in record)


def record_id(record: dict[str, Any]) -> str | None:
    value = record.get("id")
    return None if value is None or isinstance(value, dict | list) else str(value)


def fingerprint(record: dict[str, Any]) -> str | None:
    """Two records with the same vignette are duplicates, whatever their ids."""
    context = " ".join(fold(str(part)) for part in _listed(record.get("context")))
    return context.strip() or None


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def convert(record: dict[str, Any], ctx: RecordContext) -> Case | None:
    rules = ctx.rules
    context = [t for t in (render(s, rules) for s in _listed(record.get("context"))) if t]
    statements = [strip_numbering(render(f, rules)) for f in _listed(record.get("facts"))]
    statements = [s for s in statements if s]
    stated_length = record.get("context_len")
    if isinstance(stated_length, int) and stated_length != len(_listed(record.get("context"))):
        ctx.report(
            "count_mismatch",
            f"context_len is {stated_length} but the context has "
            f"{len(_listed(record.get('context')))} sentences",
            "context_len",
        )
    if not context and not statements:
        ctx.report("empty_case", "empty context and no facts", skipped=True)
        return None
    options = _options(record.get("options"), ctx)
    answer = _answer(record, options, ctx)
    if answer is None:
        return None
    diagnosis, letter, extra = answer
    if not statements:
        ctx.report("missing_field", "no facts; the context sentences are used", "facts")
    facts = categorised(statements or context, rules)
    if statements:
        facts += categorised(values_missing_from(context[1:], statements), rules)
    raw_patient = record.get("patient")
    patient: dict[str, Any] = raw_patient if isinstance(raw_patient, dict) else {}
    opening = context[0] if context else statements[0]
    person = demographics(
        ctx, age=patient.get("age"), sex=patient.get("gender"), texts=[opening, *statements[:2]]
    )
    question = render(record.get("question"), rules)
    kind = answer_kind(question, diagnosis, rules)
    speaker = caregiver(person.age_years, [opening, *statements], rules)
    return ctx.build(
        specialty=_specialty(patient, rules),
        demographics=person,
        informant="caregiver" if speaker else "self",
        caregiver=speaker,
        doctor_brief=" ".join(filter(None, (opening.rstrip(".") + ".", question))),
        opening_statement=rules.texts.opening_without_complaint,
        facts=first_as_complaint(facts),
        options=options or None,
        ground_truth={
            "diagnosis": diagnosis,
            "aliases": (*extra, *diagnosis_aliases(diagnosis)),
            "answer_option": letter,
            "answer_kind": kind,
        },
    )


_WORDS = re.compile(r"[^\W\d_]{2,}")


def answer_kind(question: str, answer: str, rules: Rules) -> AnswerKind:
    """What the answer names, by the rules of ``answer_kinds`` in the conversion rules: an
    answer of numbers and symbols is a value; otherwise the question's wording decides."""
    if not _WORDS.search(answer):
        return "value"
    for kind, patterns, or_diagnosis in rules.answer_kinds:
        if any(pattern.search(question) for pattern in patterns):
            return "diagnosis" if or_diagnosis and fold(answer) in _disease_names() else kind
    return rules.raw.answer_kind_default


def _rewording(answer: str, option: str) -> bool:
    """A slightly different wording of the same words, with the same numbers and signs."""
    if not fold(answer) or value_tokens(answer) != value_tokens(option):
        return False
    return difflib.SequenceMatcher(None, fold(answer), fold(option)).ratio() >= SAME_WORDING


@functools.cache
def _disease_names() -> frozenset[str]:
    return frozenset(fold(n) for d in diseases() for n in (d.name, *d.aliases))


def _specialty(patient: dict[str, Any], rules: Any) -> str:
    named = render(patient.get("gpt_specialty"), rules)
    listed = _listed(patient.get("specialties"))
    return named or (render(listed[0], rules) if listed else "") or "unspecified"


def _options(value: Any, ctx: RecordContext) -> dict[str, str]:
    if isinstance(value, list):
        value = {chr(ord("A") + i): item for i, item in enumerate(value)}
    if not isinstance(value, dict) or not value:
        ctx.report("missing_field", "no options", "options")
        return {}
    options = {str(k).strip().upper(): " ".join(answer_texts(v)) for k, v in value.items()}
    return {letter: text for letter, text in options.items() if letter and text}


def _answer(
    record: dict[str, Any], options: dict[str, str], ctx: RecordContext
) -> tuple[str, str | None, tuple[str, ...]] | None:
    """(diagnosis, option letter, extra accepted wordings), or None when there is no answer."""
    answer = " ".join(answer_texts(record.get("answer")))
    index = " ".join(answer_texts(record.get("answer_idx"))).upper()
    by_text = next((k for k, v in options.items() if same_text(v, answer)), None)
    chosen = options.get(index)
    if chosen is None:
        if not answer:
            ctx.report("missing_field", "neither answer nor answer_idx", "answer", skipped=True)
            return None
        if index:
            ctx.report(
                "label_mismatch",
                f"answer_idx {index!r} is not an option; the answer text is kept",
                "answer_idx",
            )
        else:
            ctx.report("missing_field", "no answer_idx; the answer text is kept", "answer_idx")
        return answer, by_text, ()
    if not answer or same_text(answer, chosen):
        return chosen, index, ()
    if by_text is not None:
        ctx.report(
            "label_mismatch",
            f"answer {answer!r} is option {by_text} but answer_idx is {index} ({chosen!r}); "
            f"option {index} is kept, as MediQ scores it",
            "answer",
        )
        return chosen, index, ()
    if _rewording(answer, chosen):
        ctx.report(
            "answer_text",
            f"answer {answer!r} is worded differently from option {index} ({chosen!r}); "
            "both are accepted",
            "answer",
        )
        return chosen, index, (answer,)
    ctx.report(
        "label_mismatch",
        f"answer {answer!r} matches no option; option {index} ({chosen!r}) is kept",
        "answer",
    )
    return chosen, index, ()
