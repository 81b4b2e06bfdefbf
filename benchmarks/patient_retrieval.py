"""Offline patient retrieval: does the patient answer the history question it was asked?

Run: ``python benchmarks/patient_retrieval.py [--dataset NAME_OR_PATH ...] [--by-topic]
[--held-out 1-5] [--misses]``.
Asks natural history questions (several phrasings per topic: presenting complaint, history of
the present illness, past history, medications, allergies, work, smoking, alcohol, home,
family, sexual health and contraception, review of systems) of a fresh plain patient (who
tells every relevant fact when first asked) on every case of the bundled set and of the
fixture files of each public format, and prints two figures per dataset and overall:

- **asked-fact recall**: of the (question, case) pairs where the case holds a fact of the
  asked topic, the share whose reply tells one (a compound question counts once per topic it
  asks that the case holds, so its reply must answer each);
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
    parts: tuple[Topic, ...] = ()
    """For a compound question (one that asks several topics at once): the topics it asks.
    Each part the case holds a fact of counts as one asked fact, so that a reply must answer
    every part to score them all; a fact of any part is on topic."""

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
        r"sexual|sexually|contracept|coil\b|iud\b|intrauterine|condom|intercourse|the pill\b|"
        r"mini pill|progesterone only pill",
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
"""A fifth set (``--held-out 4``), written last and held out until set 6 (``HELD_OUT_5``) was
written: 77.2% recall and 9.7% off-topic at its first run. It then became a tuning set, like
sets 1-3, for the lexicon's generalisation work (shorthand, slips of the keyboard, compound
questions, word groups and cues by class)."""


HELD_OUT_5 = {
    "presenting complaint": (
        "Tell me what's brought you here.",
        "So, what's up?",
        "What's the reason for your visit today?",
        "I'm sorry you're feeling poorly. What's happened?",
        "Whats the matter?",
        "What symptoms have you been having?",
        "Hi, I'm one of the doctors on the team. What's your main concern today?",
        "What would you like help with?",
        "Waht brings you to the clinic?",
    ),
    "present illness": (
        "Tell me more about how it started.",
        "How long have you had it?",
        "Did it come on suddenly or gradually?",
        "That sounds awful, when did it first begin?",
        "Walk me through what happened.",
        "Is it constant or does it come and go?",
        "Does anything help it?",
        "How long's this been going on for?",
        "Whens it at its worst?",
    ),
    "past history": (
        "Any PMH?",
        "Do you have any chronic illnesses like diabetes or asthma?",
        "Tell me about your past medical history.",
        "Have you ever had surgery?",
        "Any previous hospital admissions?",
        "Are you generally healthy?",
        "Has a doctor ever told you that you have a long-term condition?",
        "Any medical histroy I should be aware of?",
        "Thanks for telling me that. Have you had any health problems before this?",
    ),
    "medications": (
        "Any meds?",
        "What meds are you on?",
        "Tell me about any medicines you take.",
        "Are you on any prescription drugs?",
        "Do you take anything over the counter, or any supplements?",
        "Do you use any sprays, drops or injections?",
        "Are you taking any medecines at the moment?",
        "Has your GP put you on anything?",
        "That must be hard for you. Are you on any medication for it?",
        "Any repeat prescriptions?",
    ),
    "allergies": (
        "Any known drug allergies?",
        "Do any medications give you a rash or make you unwell?",
        "Tell me about any allergies.",
        "Are you allergic to penicillin or anything else?",
        "Has any medicine ever caused you a reaction?",
        "Any alergies?",
        "Any allergies to foods, drugs or latex?",
        "Is there anything you're sensitive to?",
        "Before I prescribe anything, are you allergic to any medication?",
    ),
    "work": (
        "What's your line of work?",
        "Where do you work?",
        "Tell me a bit about your job.",
        "Are you retired or still working?",
        "Are you employed at the moment?",
        "Are you in school?",
        "What is your profession?",
        "Does your work involve anything hazardous?",
        "What do u do for work?",
        "Whats your occupaton?",
    ),
    "smoking": (
        "I'm sorry to hear that. Do you smoke?",
        "Do you smoke or vape at all?",
        "How many cigs do you smoke?",
        "Ever been a smoker?",
        "Tell me about smoking.",
        "Do you use e-cigarettes?",
        "Any tobacco use, past or present?",
        "Do you smkoe?",
        "Have you ever smoked? If so, how much?",
        "Any history of smoking?",
    ),
    "alcohol": (
        "Any ETOH?",
        "How much do you drink, roughly?",
        "Do you have a drink most days?",
        "How many beers or glasses of wine a week?",
        "Tell me about your drinking.",
        "Do you drink any booze?",
        "Any alcohol use?",
        "Do you drink alchohol?",
        "Do you drink socially?",
        "How much liquor do you drink?",
    ),
    "home": (
        "Tell me about your home life.",
        "Do you live on your own?",
        "Do you have family at home?",
        "What kind of house do you live in?",
        "Is there anyone who looks after you at home?",
        "Do you live in a house or an apartment?",
        "Who do you live wiht?",
        "How are things at home?",
        "Are you living by yourself?",
    ),
    "family": (
        "Any family hx of heart disease or cancer?",
        "Tell me about your family's health.",
        "Did your mum or dad have any medical problems?",
        "Does anyone in your family have diabetes, heart trouble or cancer?",
        "Are there any conditions in your family that you know of?",
        "Any relatives with similar problems?",
        "Are your mom and dad healthy?",
        "Any family histroy?",
        "Has anybody in your family had anything like this?",
    ),
    "sexual health": (
        "I need to ask some personal questions. Are you sexually active?",
        "Do you use condoms?",
        "What form of contraception are you using?",
        "Are you using any birth control?",
        "Any sexual partners at the moment?",
        "Do you have a regular partner?",
        "Do you use protection when you have sex?",
        "Are you on the coil, the pill or anything?",
        "Any contaceptive use?",
        "Do you have sex with men, women or both?",
    ),
    "systems: fever": (
        "Any fever or chills?",
        "Have you had a high temp?",
        "Have you been sweaty at night?",
        "Have you felt hot and cold?",
        "Any night sweats?",
        "Have you measured your temperature?",
        "Any rigors?",
        "Have you had a fevr?",
        "Did you feel feverish or shaky?",
    ),
    "systems: weight": (
        "Any unintentional weight loss?",
        "Have you gained weight?",
        "Have you been getting thinner?",
        "Do your clothes still fit?",
        "How's your weight been?",
        "Have you lost any pounds?",
        "Have you noticed any change in your weight or appetite?",
        "Any wieght loss?",
        "Have you lost or put on any kilos?",
    ),
    "systems: urine": (
        "Any dysuria?",
        "Does it sting when you wee?",
        "Any problems peeing?",
        "Are you going to the bathroom more often?",
        "Any blood in your urine?",
        "Do you get up at night to pass water?",
        "Any urinary frequency or urgency?",
        "Any truoble with urination?",
        "How's your bladder?",
    ),
    "systems: cough": (
        "Any coughing fits?",
        "Have you been bringing up sputum?",
        "Is your cough dry or productive?",
        "Have you got a cough?",
        "Any SOB or cough?",
        "Have you coughed up any blood?",
        "Is there any coughing at night?",
        "Any coughign?",
        "Have you had a chesty cough?",
    ),
}
COMPOUND_5 = {
    ("smoking", "alcohol"): (
        "Do you smoke or drink?",
        "Any smoking or alcohol?",
        "How much do you smoke and drink?",
    ),
    ("past history", "medications"): (
        "Any medical problems, and what meds are you on?",
        "Do you have any health conditions or take any regular medicines?",
        "Tell me about your PMH and any medications.",
    ),
    ("medications", "allergies"): (
        "What medications do you take, and are you allergic to any?",
        "Any meds or allergies?",
    ),
    ("work", "home"): (
        "What do you do for work, and who do you live with?",
        "Tell me about your job and your home situation.",
    ),
    ("systems: fever", "systems: cough"): ("Any fevers or coughing?",),
    ("systems: weight", "systems: fever"): ("Any weight loss or night sweats?",),
    ("past history", "family"): ("Any medical problems yourself, or in the family?",),
}
"""A sixth set (``--held-out 5``), written before any of the generalisation work, in styles
not in sets 0-4: lay and American wording, abbreviations (PMH, meds, ETOH, SOB, hx), indirect
requests ("tell me about ..."), questions after a word of empathy, typos, and compound
questions that ask two topics at once (each part scored). Never tuned on: it was run twice
only, once before that work (76.7% recall, 6.4% off-topic) and once after it (see the
change that brought it), as the honest before-and-after figure for phrasings the lexicon had
not seen. Run again, it is no longer unseen: write a new set for the next such figure."""


def held_out(which: int) -> tuple[Topic, ...]:
    phrasings = {1: HELD_OUT, 2: HELD_OUT_2, 3: HELD_OUT_3, 4: HELD_OUT_4, 5: HELD_OUT_5}[which]
    topics = tuple(replace(topic, questions=phrasings[topic.name]) for topic in TOPICS)
    if which == 5:
        by_name = {topic.name: topic for topic in TOPICS}
        topics += tuple(
            Topic(
                " + ".join(names),
                questions,
                (),
                parts=tuple(by_name[name] for name in names),
            )
            for names, questions in COMPOUND_5.items()
        )
    return topics


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
            parts = topic.parts or (topic,)
            for question in topic.questions:
                told, text = ask(case, question)
                tally.asked += 1
                wrong = any(not _on_topic(parts, case, i) for i in told)
                for part in parts:
                    expected = part.expected(case)
                    if not expected:
                        continue
                    hit = bool(expected & set(told))
                    tally.held += 1
                    tally.recalled += hit
                    if not hit and _is_denial(text):
                        wrong = wrong or not all(_negative(case.facts[i]) for i in expected)
                tally.off_topic += wrong
    return tallies


def _on_topic(parts: Sequence[Topic], case: Case, fact: int) -> bool:
    return any(part.on_topic(case, fact) for part in parts)


def misses(cases: Iterable[Case], topics: Sequence[Topic] = TOPICS) -> list[str]:
    """One line per question a case holds the answer to but the reply did not tell."""
    lines = []
    for case in cases:
        for topic in topics:
            parts = topic.parts or (topic,)
            for question in topic.questions:
                told, text = ask(case, question)
                off = [i for i in told if not _on_topic(parts, case, i)]
                missed = [p for p in parts if p.expected(case) and not p.expected(case) & set(told)]
                if missed or off:
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
        "--held-out", type=int, choices=(1, 2, 3, 4, 5), help="ask held-out phrasings (set 1-5)"
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
