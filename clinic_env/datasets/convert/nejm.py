"""AgentClinic's NEJM Image Challenge records as clinic-env cases.

A record is flat: ``question`` (the published vignette and its question), ``patient_info``
(what the patient knows, written to the patient in the second person, often as a markdown
list), ``physical_exams`` (the findings and results the room can report, as "Label: text"
items), ``answers`` (five options, one marked correct) and ``image_url`` (with ``type[]`` in
the extended set). The doctor is told the vignette's first sentence and its question; the
image stays available on request, for vision models.
"""

from __future__ import annotations

import re
from typing import Any

from clinic_env.datasets.convert.common import (
    RecordContext,
    caregiver,
    categorised,
    clean,
    demographics,
    diagnosis_aliases,
    first_as_complaint,
    items_of,
    make_test,
    readable,
    render,
    sentences,
)
from clinic_env.datasets.convert.rules import Rules
from clinic_env.language.text import fold
from clinic_env.schema.case import Case, CaseImage, ExamFinding, Fact, TestResult

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
MAX_LABEL_WORDS = 8
_ITEM_BREAK = re.compile(r"\s+-\s+|\s*(?<![\w.])\d{1,2}\.\s+(?=[A-Z*])")
_LABEL = re.compile(r"^(?P<label>[^:]{2,100}):\s*(?P<text>.*)$", re.DOTALL)
_GLUED_HEADER = re.compile(r"^(?P<body>[^:]{2,100}:.*\S)\s+(?P<header>[A-Z][^.:]{0,60}:)$")
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
        opening_statement=facts[0].says or facts[0].text,
        facts=first_as_complaint(facts),
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


def _answers(value: Any, ctx: RecordContext) -> tuple[dict[str, str], str] | None:
    """Options by letter and the correct letter; None (reported) when there is no answer."""
    if not isinstance(value, list) or not value:
        ctx.report("missing_field", "no answers list", "answers", skipped=True)
        return None
    options: dict[str, str] = {}
    correct: list[str] = []
    for item in value:
        text = render(item.get("text") if isinstance(item, dict) else item, ctx.rules)
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


def _items(text: str, rules: Rules) -> list[str]:
    """List items and sentences of a paragraph, role-play preamble removed. Headers ("Imaging
    results:") are items of their own, also when glued to the end of the item before."""
    for pattern in rules.nejm_preambles:
        text = pattern.sub("", text, count=1)
    found = []
    for chunk in _ITEM_BREAK.split(text):
        for sentence in map(clean, sentences(chunk)):
            glued = _GLUED_HEADER.match(sentence)
            found += [glued["body"], glued["header"]] if glued else [sentence] if sentence else []
    return found


def _patient_facts(value: Any, rules: Rules) -> list[Fact]:
    """Facts in the patient's words; a header is dropped unless it is a statement itself
    ("You are a 53-year-old woman who has had the following symptoms:")."""
    facts = []
    for item in _items(" ".join(items_of(value, rules)), rules):
        if any(pattern.search(item) for pattern in rules.nejm_instructions):
            continue
        if item.endswith(":") and len(item.split()) < MAX_LABEL_WORDS:
            continue
        statement = item[:-1] + "." if item.endswith(":") else item
        labelled = _LABEL.match(statement)
        short = labelled and len(labelled["label"].split()) <= MAX_LABEL_WORDS
        text = labelled["text"].strip() if short and labelled and labelled["text"] else statement
        text = text[:1].upper() + text[1:]
        category = rules.sentence_category(text) or "history_of_present_illness"
        facts.append(Fact(category=category, text=text, says=first_person(text)))
    return facts


def _measurements(value: Any, rules: Rules) -> tuple[list[ExamFinding], list[TestResult]]:
    """Labelled items become tests (or exam findings when the label says so); an unlabelled
    sentence takes the header above it as its label, or continues the item before it."""
    entries: list[list[str]] = []  # [label or "", text]
    header = ""
    for item in _items(" ".join(items_of(value, rules)), rules):
        labelled = _LABEL.match(item)
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
