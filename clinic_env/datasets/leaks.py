"""Where a case's own data would show its answer to a role, and how to withhold it.

The check is the session's :class:`~clinic_env.language.leak.LeakGuard` itself, so the
audit reports exactly what the guard would withhold at run time: what the audit lists is
never a silent leak, and what it does not list the guard would not catch either. MCQ options
are not checked: in MCQ mode they are shown on purpose.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from clinic_env.language.leak import answer_names, leak_guard
from clinic_env.protocol.texts import protocol_texts
from clinic_env.schema.case import Case

EXCERPT_CHARS = 90


@dataclass(frozen=True, slots=True)
class Leak:
    role: str
    """Who would see it: "doctor", "patient" or "measurement"."""
    where: str
    """The field, e.g. ``tests[2] (Barium enema)``."""
    name: str
    """The diagnosis or alias it names."""
    text: str


def role_texts(case: Case) -> Iterator[tuple[str, str, str]]:
    """(role, field, text) for every text a role other than the evaluator receives."""
    yield "doctor", "doctor_brief", case.doctor_brief
    yield "patient", "opening_statement", case.opening_statement
    for i, fact in enumerate(case.facts):
        yield "patient", f"facts[{i}]", f"{fact.text} {fact.says or ''}".strip()
    for i, finding in enumerate(case.exam):
        yield "measurement", f"exam[{i}] ({finding.system})", f"{finding.name}: {finding.finding}"
    for i, test in enumerate(case.tests):
        also = f" ({', '.join(test.aliases)})" if test.aliases else ""
        yield "measurement", f"tests[{i}] ({test.name})", f"{test.name}{also}: {test.result}"
    for i, image in enumerate(case.images):
        yield "measurement", f"images[{i}]", image.kind


def find_leaks(case: Case) -> list[Leak]:
    """Every place a role would see the diagnosis or an alias, as the leak guard finds it."""
    names = answer_names(case)
    guard = leak_guard(names, protocol_texts().redacted)
    leaks = []
    for role, where, text in role_texts(case):
        if guard.scrub(text)[1]:
            named = next(
                (n for n in names if leak_guard((n,), guard.replacement).scrub(text)[1]), names[0]
            )
            excerpt = text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 3] + "..."
            leaks.append(Leak(role, where, named, excerpt))
    return leaks


def redact(case: Case) -> Case:
    """The case with every mention of its answer withheld from what the roles receive."""
    guard = leak_guard(answer_names(case), protocol_texts().redacted)

    def scrub(text: str) -> str:
        return guard.scrub(text)[0]

    def scrub_optional(text: str | None) -> str | None:
        return scrub(text) if text is not None else None

    return case.model_copy(
        update={
            "doctor_brief": scrub(case.doctor_brief),
            "opening_statement": scrub(case.opening_statement),
            "facts": tuple(
                f.model_copy(update={"text": scrub(f.text), "says": scrub_optional(f.says)})
                for f in case.facts
            ),
            "exam": tuple(
                e.model_copy(update={"name": scrub(e.name), "finding": scrub(e.finding)})
                for e in case.exam
            ),
            "tests": tuple(
                t.model_copy(
                    update={
                        "name": scrub(t.name),
                        "aliases": tuple(scrub(a) for a in t.aliases),
                        "result": scrub(t.result),
                    }
                )
                for t in case.tests
            ),
        }
    )
