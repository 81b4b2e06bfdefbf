"""AgentClinic's NEJM Image Challenge records as clinic-env cases.

A record is flat: ``question`` (the published vignette and its question), ``patient_info``
(what the patient knows, written to the patient in the second person, often as a markdown
list), ``physical_exams`` (the findings and results the room can report, as "Label: text"
items), ``answers`` (five options, one marked correct) and ``image_url`` (with ``type[]`` in
the extended set). The doctor is told the vignette's first sentence and its question; the
image stays available on request, for vision models. Role-play instructions to the patient
actor and a model's refusals in place of findings are dropped (see
:mod:`~clinic_env.datasets.convert.tidy`), and the patient opens with a complaint, never
with only an age.
"""

from __future__ import annotations

import re
from typing import Any

from clinic_env.datasets.convert.common import (
    LABEL,
    MAX_LABEL_WORDS,
    RecordContext,
    answer_texts,
    categorised,
    diagnosis_aliases,
    first_as_complaint,
    is_header,
    items_in,
    items_of,
    make_test,
    readable,
    render,
    sentences,
    values_missing_from,
)
from clinic_env.datasets.convert.people import caregiver, demographics, is_identity
from clinic_env.datasets.convert.rules import Rules
from clinic_env.datasets.convert.tidy import clean, tidy
from clinic_env.language.text import fold
from clinic_env.schema.case import Case, CaseImage, ExamFinding, Fact, TestResult

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_TRUE = frozenset({"true", "yes", "1"})

# Second person -> first person, for how the patient says a fact ("your arm" -> "my arm").
_PERSON = (
    (re.compile(r"\byou are\b", re.IGNORECASE), "I am"),
    (re.compile(r"\byou(?:'|’)re\b", re.IGNORECASE), "I'm"),
    (re.compile(r"\byou(?:'|’)ve\b", re.IGNORECASE), "I've"),
    (re.compile(r"\byou(?:'|’)ll\b", re.IGNORECASE), "I'll"),
    (re.compile(r"\byou(?:'|’)d\b", re.IGNORECASE), "I'd"),
    (re.compile(r"\byou were\b", re.IGNORECASE), "I was"),
    (re.compile(r"\byourself\b", re.IGNORECASE), "myself"),
    (re.compile(r"\byours\b", re.IGNORECASE), "mine"),
    (re.compile(r"\byour\b", re.IGNORECASE), "my"),
    (
        re.compile(
            r"\b(to|for|with|at|about|from|of|told|gave|give|tell|asked|showed|show|"
            r"bother|bothers|help|helped|affect|affects|make|makes)\s+you\b",
            re.IGNORECASE,
        ),
        r"\1 me",
    ),
    (re.compile(r"\byou\b", re.IGNORECASE), "I"),
)


def first_person(text: str) -> str:
    """A second-person sentence as the patient would say it."""
    for pattern, replacement in _PERSON:
        text = pattern.sub(replacement, text)
    return text[:1].upper() + text[1:]


def looks_like(record: dict[str, Any]) -> bool:
    return "patient_info" in record or ("answers" in record and "question" in record)


def fingerprint(record: dict[str, Any]) -> str | None:
    question = record.get("question")
    return (fold(question) or None) if isinstance(question, str) else None


def convert(record: dict[str, Any], ctx: RecordContext) -> Case | None:
    rules = ctx.rules
    answers = _answers(record.get("answers"), ctx)
    if answers is None:
        return None
    options, letter = answers
    question = sentences(render(record.get("question"), rules))
    facts = _patient_facts(record.get("patient_info"), rules)
    if not facts and question:
        ctx.report("missing_field", "no patient text; the vignette is used", "patient_info")
        facts = categorised(question[:-1] or question, rules)
    if not facts:
        ctx.report("empty_case", "neither patient text nor vignette", skipped=True)
        return None
    exam, tests = _measurements(record.get("physical_exams"), rules)
    opening, facts = _presentation(facts, question[:1], rules)
    _keep_vignette_values(question[1:-1], facts, exam, tests, rules)
    person = demographics(ctx, texts=[*question[:1], *(f.text for f in facts[:3])])
    ask = question[-1] if len(question) > 1 and question[-1].endswith("?") else ""
    brief = " ".join(filter(None, (question[0] if question else "", ask))) or (
        rules.texts.brief_without_complaint.format(description=person.description)
    )
    speaker = caregiver(person.age_years, [f.text for f in facts], rules)
    diagnosis = options[letter]
    return ctx.build(
        specialty="unspecified",
        demographics=person,
        informant="caregiver" if speaker else "self",
        caregiver=speaker,
        doctor_brief=brief,
        opening_statement=opening,
        facts=facts,
        exam=exam,
        tests=tests,
        images=_images(record, rules),
        options=options,
        ground_truth={
            "diagnosis": diagnosis,
            "aliases": diagnosis_aliases(diagnosis),
            "answer_option": letter,
        },
    )


def _keep_vignette_values(
    vignette: list[str],
    facts: list[Fact],
    exam: list[ExamFinding],
    tests: list[TestResult],
    rules: Rules,
) -> None:
    """Vignette sentences holding a value the patient text and findings leave out ("He had
    lost 6 kg") are kept: as a finding when they tell an examination, else as a fact."""
    told = [f.text for f in facts] + [e.finding for e in exam] + [t.result for t in tests]
    for sentence in values_missing_from(vignette, told):
        if set(fold(sentence).split()) & rules.nejm_exam_words:
            exam.append(ExamFinding(system="general", name="examination", finding=sentence))
        else:
            facts += categorised([sentence], rules)


def _answers(value: Any, ctx: RecordContext) -> tuple[dict[str, str], str] | None:
    """Options by letter and the correct letter; None (reported) when there is no answer."""
    if not isinstance(value, list) or not value:
        ctx.report("missing_field", "no answers list", "answers", skipped=True)
        return None
    options: dict[str, str] = {}
    correct: list[str] = []
    for item in value:
        text = " ".join(answer_texts(item.get("text") if isinstance(item, dict) else item))
        if not text or len(options) == len(LETTERS):
            ctx.report("missing_field", f"an answer without text: {item!r}", "answers")
            continue
        letter = LETTERS[len(options)]
        options[letter] = text
        flag = item.get("correct") if isinstance(item, dict) else None
        if flag is True or (isinstance(flag, str | int) and fold(str(flag)) in _TRUE):
            correct.append(letter)
    if not correct:
        ctx.report("label_mismatch", "no answer is marked correct", "answers", skipped=True)
        return None
    if len(correct) > 1:
        marked = ", ".join(correct)
        ctx.report(
            "label_mismatch",
            f"answers {marked} are all marked correct; {correct[0]} is kept",
            "answers",
        )
    return options, correct[0]


def _text(value: Any, rules: Rules) -> str:
    """A free-text field whole, lines kept, so that its list items are split before any is
    tidied."""
    return value if isinstance(value, str) else "\n".join(items_of(value, rules))


def _patient_facts(value: Any, rules: Rules) -> list[Fact]:
    """Facts in the patient's words. Role-play instructions are dropped (see
    :func:`~clinic_env.datasets.convert.tidy.tidy`), and a header too unless it is a statement
    itself ("You are a 53-year-old woman who has had the following symptoms:")."""
    facts = []
    for item in items_in(_text(value, rules)):
        labelled = LABEL.match(item)
        said = item
        if labelled and labelled["text"] and len(labelled["label"].split()) <= MAX_LABEL_WORDS:
            said = labelled["text"]  # "Recent events: you fell at school" -> the statement
        for kept in tidy(said, rules, role_play=True).kept:
            if is_header(kept):
                continue
            text = kept[:-1] + "." if kept.endswith(":") else kept
            text = text[:1].upper() + text[1:]
            category = rules.sentence_category(text) or "history_of_present_illness"
            facts.append(Fact(category=category, text=text, says=first_person(text)))
    return facts


_VIGNETTE_COMPLAINT = re.compile(
    r"\b(?:presented|presents|came|comes|was brought|is brought|was evaluated|sought care)\b"
    r"[^.]*?\bwith\s+(?P<complaint>[^.;]+)",
    re.IGNORECASE,
)
_THIRD_PERSON = re.compile(r"\b(?:his|her|their)\b", re.IGNORECASE)
_STORY = ("presenting_complaint", "history_of_present_illness")


def _presentation(facts: list[Fact], vignette: list[str], rules: Rules) -> tuple[str, list[Fact]]:
    """The opening line and the facts with it marked as the presenting complaint.

    The line is the first fact that says more than who the patient is ("You are an
    83-year-old woman." is no complaint), preferring the story of the illness; with none,
    the complaint the vignette reports ("presented with a painful forearm").
    """
    told = [i for i, f in enumerate(facts) if not is_identity(f.text, rules)]
    story = [i for i in told if facts[i].category in _STORY]
    chosen = story[0] if story else told[0] if told else None
    if chosen is None:
        match = next(filter(None, map(_VIGNETTE_COMPLAINT.search, vignette)), None)
        complaint = _THIRD_PERSON.sub("my", match["complaint"].strip()) if match else ""
        opening = (
            rules.texts.opening_with_complaint.format(complaint=complaint)
            if complaint
            else rules.texts.opening_without_complaint
        )
        return opening, first_as_complaint(facts)
    fact = facts[chosen]
    if not any(f.category == "presenting_complaint" for f in facts):
        facts = [
            *facts[:chosen],
            fact.model_copy(update={"category": "presenting_complaint"}),
            *facts[chosen + 1 :],
        ]
    return fact.says or fact.text, facts


def _measurements(value: Any, rules: Rules) -> tuple[list[ExamFinding], list[TestResult]]:
    """Labelled items become tests (or exam findings when the label says so); an unlabelled
    sentence takes the header above it as its label, or continues the item before it."""
    entries: list[list[str]] = []  # [label or "", text]
    header = ""
    for item in _measurementitems_in(value, rules):
        labelled = LABEL.match(item)
        if item.endswith(":"):
            header = clean(item[:-1]) if len(item.split()) <= MAX_LABEL_WORDS else ""
        elif labelled and len(labelled["label"].split()) <= MAX_LABEL_WORDS and labelled["text"]:
            entries.append([clean(labelled["label"]), labelled["text"].strip()])
            header = ""
        elif header:
            entries.append([header, item])
            header = ""
        elif entries:
            entries[-1][1] += f" {item}"
        else:
            entries.append(["", item])
    exam: list[ExamFinding] = []
    tests: list[TestResult] = []
    for label, text in entries:
        words = set(fold(label).split())
        if not label or words & rules.nejm_exam_words:
            systems = rules.exam_systems.labels(label or text)
            name = readable(label, lower=True) if label else "examination"
            system = systems[0] if systems else "general"
            exam.append(ExamFinding(system=system, name=name, finding=text))
        else:
            tests.append(make_test(_test_name(label, rules), text, [label], rules))
    return exam, tests


def _measurementitems_in(value: Any, rules: Rules) -> list[str]:
    """Items of the findings text with placeholders and refusals dropped, also where they
    follow a label ("Laboratory studies: Not provided.")."""
    found = []
    for item in items_in(_text(value, rules)):
        labelled = LABEL.match(item)
        if labelled and labelled["text"].strip() and not is_header(item):
            kept = tidy(labelled["text"], rules).kept
            found += [f"{labelled['label']}: {' '.join(kept)}"] if kept else []
        else:
            found += tidy(item, rules).kept
    return found


def _test_name(label: str, rules: Rules) -> str:
    """ "Skin biopsy results" -> "Skin biopsy": trailing words that say nothing are dropped."""
    words = label.split()
    while len(words) > 1 and rules.is_generic(words[-1]):
        words.pop()
    return readable(" ".join(words))


def _images(record: dict[str, Any], rules: Rules) -> list[CaseImage]:
    kind = ", ".join(items_of(record.get("type"), rules)) or "image"
    urls = record.get("image_url")
    listed = urls if isinstance(urls, list) else [urls]
    return [
        CaseImage(location=url.strip(), kind=kind)
        for url in listed
        if isinstance(url, str) and url.strip()
    ]
