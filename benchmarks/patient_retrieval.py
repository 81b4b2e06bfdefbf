"""Offline patient retrieval: does the patient answer the history question it was asked?

Run: ``python benchmarks/patient_retrieval.py [--dataset NAME_OR_PATH ...] [--by-topic]``.
Asks natural history questions (several phrasings per topic: presenting complaint, history of
the present illness, past history, medications, allergies, work, smoking, alcohol, home,
family, sexual health and contraception, review of systems) of a fresh plain patient (who
tells every relevant fact when first asked) on every case of the bundled set and of the
fixture files of each public format, and prints two figures per dataset and overall:

- **asked-fact recall**: of the (question, case) pairs where the case holds a fact of the
  asked topic, the share whose reply tells one;
- **off-topic replies**: of all pairs, the share whose reply tells a fact of another topic
  (outside the categories the question may draw on), or denies when the case holds a fact of
  the asked topic that is not itself a denial.

Which facts belong to a topic is labelled here, by the fact's category and by word lists of
this file, independently of the patient's own lexicon. The issue's goal is recall >= 90% and
off-topic <= 5%; ``tests/agents/test_patient_retrieval.py`` holds that floor on the bundled
cases.
"""

from __future__ import annotations

import argparse
import random
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from clinic_env.agents.offline_patient import OfflinePatient, default_phrases
from clinic_env.agents.personas import load_persona
from clinic_env.datasets import load_cases
from clinic_env.language.text import fold
from clinic_env.schema.case import Case, Fact

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "datasets" / "fixtures"
DEFAULT_DATASETS = ("starter", *(str(p) for p in sorted(FIXTURES.glob("*.jsonl"))))
STORY = ("presenting_complaint", "history_of_present_illness", "review_of_systems")
NEGATION = re.compile(r"\b(no|not|never|denies|denied|without|none|non)\b")


@dataclass(frozen=True)
class Topic:
    """One asked topic: its phrasings, the categories whose facts answer it, and (for a
    topic narrower than a category) the words one of its facts must contain."""

    name: str
    questions: tuple[str, ...]
    categories: tuple[str, ...]
    words: str = ""
    """A regular expression over the folded fact text; empty: every fact of the categories."""
    allowed: tuple[str, ...] = ()
    """Further categories a reply may draw on without being off-topic."""

    def expected(self, case: Case) -> set[int]:
        pattern = re.compile(rf"\b(?:{self.words})") if self.words else None
        found = set()
        for i, fact in enumerate(case.facts):
            filed = not self.categories or fact.category in self.categories
            if pattern is None:
                worded = bool(self.categories)
            else:
                worded = bool(pattern.search(fold(f"{fact.text} {fact.says or ''}")))
            if filed and worded:
                found.add(i)
        return found

    def on_topic(self, case: Case, fact: int) -> bool:
        category = case.facts[fact].category
        return category in (*self.categories, *self.allowed) or fact in self.expected(case)


SOCIAL = ("social",)
ANY: tuple[str, ...] = ()
OWN = (*STORY, "social", "past_history")
"""Where the patient's own symptoms may be filed (not the family's, not the drug list)."""
TOPICS: tuple[Topic, ...] = (
    Topic(
        "presenting complaint",
        (
            "What brings you in today?",
            "What seems to be the problem?",
            "How can I help you today?",
            "What's been going on?",
        ),
        ("presenting_complaint",),
        allowed=STORY[1:],
    ),
    Topic(
        "present illness",
        (
            "When did this start?",
            "How has it changed since it began?",
            "Can you tell me more about it?",
            "What were you doing when it started?",
        ),
        ("history_of_present_illness",),
        allowed=STORY,
    ),
    Topic(
        "past history",
        (
            "What other medical problems have you had?",
            "Do you have any medical conditions?",
            "Have you had any illnesses or operations in the past?",
            "Is there any past medical history I should know about?",
        ),
        ("past_history",),
    ),
    Topic(
        "medications",
        (
            "Do you take any medications?",
            "What medicines are you on at the moment?",
            "Are you on any regular tablets or inhalers?",
        ),
        ("medications",),
    ),
    Topic(
        "allergies",
        (
            "Do you have any allergies?",
            "Are you allergic to anything?",
            "Have you ever reacted badly to a medicine?",
        ),
        ("allergies",),
    ),
    Topic(
        "work",
        (
            "What do you do for work?",
            "What do you do for a living?",
            "Are you working or studying at the moment?",
        ),
        SOCIAL,
        r"work|job|occupation|employ|unemploy|retire|school|preschool|nursery|college|"
        r"universit|student|studies|studying|teacher|driver|nurse|office|farmer|builder|"
        r"clerk|secretar|receptionist|engineer|cleaner|chef|labourer|postal|accountant",
    ),
    Topic(
        "smoking",
        ("Do you smoke?", "Have you ever smoked?", "Do you use tobacco or vape?"),
        SOCIAL,
        r"smok|cigar|tobacco|vap|pack year",
    ),
    Topic(
        "alcohol",
        ("How much alcohol do you drink?", "Do you drink alcohol?"),
        SOCIAL,
        r"alcohol|drink|beer|wine|spirits|pints?\b|units? ",
    ),
    Topic(
        "home",
        ("Who do you live with?", "What is your home situation like?"),
        SOCIAL,
        r"lives|living|live with|home|alone|house|flat\b",
    ),
    Topic(
        "family",
        (
            "Does anything run in your family?",
            "Are there any illnesses in your family?",
            "Are your parents and siblings well?",
        ),
        ("family",),
    ),
    Topic(
        "sexual health",
        (
            "What contraception do you use?",
            "Are you sexually active?",
            "Do you use any contraception?",
        ),
        ANY,
        r"sexual|sexually|contracept|coil\b|iud\b|intrauterine|condom|intercourse|the pill\b",
        allowed=SOCIAL,
    ),
    Topic(
        "systems: fever",
        ("Have you had any fevers?", "Have you felt hot or shivery?"),
        OWN,
        r"fever|temperature|feverish|shiver|rigor|chills|sweat",
        allowed=STORY,
    ),
    Topic(
        "systems: weight",
        ("Have you lost any weight?", "Has your weight changed?"),
        OWN,
        r"weight|weighs|kg\b|thinner\b|heavier\b",
        allowed=STORY,
    ),
    Topic(
        "systems: urine",
        ("Any problems passing urine?", "Any change in your waterworks?"),
        OWN,
        r"urin\w*|pee\b|peeing|wee\b|weeing|bladder|waterworks",
        allowed=STORY,
    ),
    Topic(
        "systems: cough",
        ("Have you had a cough?", "Are you coughing anything up?"),
        OWN,
        r"cough|sputum|phlegm",
        allowed=STORY,
    ),
)


HELD_OUT = {
    "presenting complaint": ("So what's the trouble?", "What made you come in?"),
    "present illness": ("How did it all begin?", "Has it been getting worse?"),
    "past history": (
        "Any long-term health conditions?",
        "Have you been in hospital before?",
        "Do you see a doctor regularly for anything?",
    ),
    "medications": ("Are you on anything regularly?", "Which tablets do you take?"),
    "allergies": ("Any drug allergies?", "Is there anything you can't take?"),
    "work": ("What's your job?", "Are you at school or working?"),
    "smoking": ("Are you a smoker?", "How many cigarettes a day?"),
    "alcohol": ("How much do you drink in a week?", "Do you like a drink?"),
    "home": ("Do you live alone?", "Who's at home with you?"),
    "family": ("Has anyone in the family been ill?", "Any health problems in your parents?"),
    "sexual health": ("Are you on the pill or anything like that?", "Any new sexual partners?"),
    "systems: fever": ("Any temperatures?", "Have you been running a fever?"),
    "systems: weight": ("Any weight loss?", "Have your clothes got looser?"),
    "systems: urine": ("Any burning when you pee?", "Are you going to the toilet more to wee?"),
    "systems: cough": ("Any cough or phlegm?", "Have you been coughing?"),
}
"""Other phrasings of each topic, written after the lexicon was tuned on TOPICS; the lexicon
was then tuned on their misses too (``--held-out 1``)."""
HELD_OUT_2 = {
    "presenting complaint": ("What can I do for you today?", "Tell me what's been bothering you."),
    "present illness": ("When did you first notice it?", "Has anything made it better or worse?"),
    "past history": (
        "Do you have any other health problems?",
        "Have you had any operations?",
        "Are you treated for anything else?",
    ),
    "medications": ("Do you take anything on prescription?", "What medication are you taking?"),
    "allergies": ("Any allergies to medicines?", "Have you had a reaction to any drug?"),
    "work": ("What kind of work do you do?", "What do you do during the day?"),
    "smoking": ("Do you smoke at all?", "Any cigarettes?"),
    "alcohol": ("What about alcohol?", "How often do you have a drink?"),
    "home": ("What are things like at home?", "Who lives with you?"),
    "family": (
        "Any family history I should know about?",
        "Is there any illness that runs in the family?",
    ),
    "sexual health": ("Any contraception?", "Are you in a sexual relationship at the moment?"),
    "systems: fever": ("Have you had a temperature?", "Any fevers or sweats?"),
    "systems: weight": ("Have you been losing weight?", "Is your weight the same as usual?"),
    "systems: urine": ("Any trouble with your bladder?", "Is it painful to pass urine?"),
    "systems: cough": ("Are you coughing at all?", "Do you bring up any phlegm?"),
}
"""A third set, held out until its first run (``--held-out 2``); the lexicon was then tuned on
its misses too."""
HELD_OUT_3 = {
    "presenting complaint": ("Why have you come to see me?", "What's the main problem?"),
    "present illness": ("How long has this been going on?", "Can you describe it for me?"),
    "past history": (
        "Are you normally fit and well?",
        "Any medical problems in the past?",
        "Have you ever been seriously ill?",
    ),
    "medications": ("Are you on any medicines?", "Do you use any inhalers, creams or tablets?"),
    "allergies": (
        "Any allergic reactions in the past?",
        "Are there any medicines you're allergic to?",
    ),
    "work": ("Do you work?", "How do you earn a living?"),
    "smoking": ("Have you smoked in the past?", "Do you use tobacco at all?"),
    "alcohol": ("Do you drink?", "How many units a week?"),
    "home": ("Where are you living at the moment?", "Do you have anyone at home?"),
    "family": ("Any problems that run in the family?", "Are your parents still alive and well?"),
    "sexual health": (
        "Are you sexually active at the moment?",
        "What do you use for birth control?",
    ),
    "systems: fever": ("Have you felt feverish?", "Any high temperatures?"),
    "systems: weight": ("Any change in your weight?", "Have you put on or lost weight?"),
    "systems: urine": ("Any problems with your waterworks?", "Are you passing water normally?"),
    "systems: cough": ("Any coughing?", "Is there a cough?"),
}
"""A fourth set, held out until its first run (``--held-out 3``); the lexicon was then tuned
on its misses too."""
HELD_OUT_4 = {
    "presenting complaint": ("What's bothering you?", "What's wrong today?"),
    "present illness": ("When did it come on?", "Is it there all the time?"),
    "past history": (
        "What illnesses have you had?",
        "Anything else wrong with your health?",
        "Have you needed any operations before?",
    ),
    "medications": ("Any regular medication?", "Are you taking any pills?"),
    "allergies": ("Do any medicines disagree with you?", "Allergic to any drugs?"),
    "work": ("What is your occupation?", "Do you have a job?"),
    "smoking": ("Any smoking?", "Do you smoke cigarettes?"),
    "alcohol": ("How much alcohol?", "Any drinking?"),
    "home": ("What's your living situation?", "Are you living with anyone?"),
    "family": ("Any diseases in the family?", "How is your family's health?"),
    "sexual health": ("Do you have a sexual partner?", "Are you using contraception?"),
    "systems: fever": ("Any temperature?", "Have you been feverish?"),
    "systems: weight": ("Has your weight dropped?", "Lost weight recently?"),
    "systems: urine": ("Any urinary symptoms?", "Passing urine okay?"),
    "systems: cough": ("Any cough?", "Coughing up anything?"),
}
"""A fifth set, written last and never tuned on (``--held-out 4``): the honest figure for
phrasings the lexicon has not seen."""


def held_out(which: int) -> tuple[Topic, ...]:
    phrasings = {1: HELD_OUT, 2: HELD_OUT_2, 3: HELD_OUT_3, 4: HELD_OUT_4}[which]
    return tuple(replace(topic, questions=phrasings[topic.name]) for topic in TOPICS)


@dataclass
class Tally:
    asked: int = 0
    held: int = 0
    recalled: int = 0
    off_topic: int = 0

    def add(self, other: Tally) -> None:
        self.asked += other.asked
        self.held += other.held
        self.recalled += other.recalled
        self.off_topic += other.off_topic

    @property
    def recall(self) -> float:
        return self.recalled / self.held if self.held else 1.0

    @property
    def off_topic_rate(self) -> float:
        return self.off_topic / self.asked if self.asked else 0.0


def _is_denial(text: str) -> bool:
    return any(text.endswith(line) or text.startswith(line) for line in default_phrases().deny)


def _negative(fact: Fact) -> bool:
    return bool(NEGATION.search(fold(fact.text)))


def ask(case: Case, question: str, seed: int = 0) -> tuple[tuple[int, ...], str]:
    """The facts a fresh plain patient tells in reply to ``question``, and its words."""
    patient = OfflinePatient(case.patient_view(), load_persona("plain"), random.Random(seed))
    reply = patient.answer(question)
    return reply.facts, reply.text


def measure(cases: Iterable[Case], topics: Sequence[Topic] = TOPICS) -> dict[str, Tally]:
    """A tally per topic over ``cases``."""
    tallies = {topic.name: Tally() for topic in topics}
    for case in cases:
        for topic in topics:
            tally = tallies[topic.name]
            expected = topic.expected(case)
            for question in topic.questions:
                told, text = ask(case, question)
                tally.asked += 1
                wrong = any(not topic.on_topic(case, i) for i in told)
                hit = bool(expected & set(told))
                if expected:
                    tally.held += 1
                    tally.recalled += hit
                    if not hit and _is_denial(text):
                        wrong = wrong or not all(_negative(case.facts[i]) for i in expected)
                tally.off_topic += wrong
    return tallies


def misses(cases: Iterable[Case], topics: Sequence[Topic] = TOPICS) -> list[str]:
    """One line per question a case holds the answer to but the reply did not tell."""
    lines = []
    for case in cases:
        for topic in topics:
            expected = topic.expected(case)
            for question in topic.questions:
                told, text = ask(case, question)
                off = [i for i in told if not topic.on_topic(case, i)]
                if (expected and not expected & set(told)) or off:
                    lines.append(f"{case.id}: {question!r} -> {text[:90]!r} off={off}")
    return lines


def total(tallies: dict[str, Tally]) -> Tally:
    overall = Tally()
    for tally in tallies.values():
        overall.add(tally)
    return overall


def _load(dataset: str) -> tuple[Case, ...]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_cases(dataset)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", action="append", help="a dataset name or file (repeatable)")
    parser.add_argument("--by-topic", action="store_true", help="print a line per topic too")
    parser.add_argument("--misses", action="store_true", help="list every missed question")
    parser.add_argument(
        "--held-out", type=int, choices=(1, 2, 3, 4), help="ask held-out phrasings (a set 1-4)"
    )
    args = parser.parse_args()
    topics = held_out(args.held_out) if args.held_out else TOPICS
    overall = Tally()
    print(f"{'dataset':<22} {'cases':>5} {'asked':>6} {'recall':>8} {'off-topic':>10}")
    for dataset in args.dataset or DEFAULT_DATASETS:
        cases = _load(dataset)
        tallies = measure(cases, topics)
        summed = total(tallies)
        overall.add(summed)
        name = Path(dataset).stem
        print(
            f"{name:<22} {len(cases):>5} {summed.asked:>6} {summed.recall:>8.1%} "
            f"{summed.off_topic_rate:>10.1%}"
        )
        if args.by_topic:
            for topic, tally in tallies.items():
                print(
                    f"  {topic:<20} {'':>5} {tally.asked:>6} {tally.recall:>8.1%} "
                    f"{tally.off_topic_rate:>10.1%}"
                )
        if args.misses:
            for line in misses(cases, topics):
                print("    " + line)
    print(
        f"{'overall':<22} {'':>5} {overall.asked:>6} {overall.recall:>8.1%} "
        f"{overall.off_topic_rate:>10.1%}"
    )


if __name__ == "__main__":
    main()
