"""The offline patient: answers from the case's facts, never invents, never diagnoses.

It answers the question asked (see :mod:`clinic_env.language.facts`): a history question from
the facts of the category it asks about, a question about the illness from the story, a guess
at or proposal of a diagnosis with a reply that never depends on the name. It tells at most as
many facts as its persona's verbosity allows, may hold a fact back the first time it is asked
(persona disclosure), denies or says it does not know what the case does not contain, grows
impatient after its persona's patience runs out, and deflects any attempt to make it name a
diagnosis or reveal its instructions. Its words are the case's facts and the content files'
phrases, nothing else, so it cannot state what the case does not hold.

Biases act through a :class:`Stance` each (docs/biases.md): a guard over topics the patient
keeps back until the doctor builds the rapport that bias responds to, a belief about the wrong
diagnosis it favours that comes back when asked about ideas, worries or expectations, pushback
on the doctor's proposals until it yields (or never), requests for the test that would confirm
the belief, and questions asked back.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterable, Sequence

from clinic_env.agents.base import PATIENTS, PatientQuestion, PatientReply
from clinic_env.agents.biasing import BiasUse
from clinic_env.content import content_path, load_yaml_model
from clinic_env.language.facts import STORY_CATEGORIES, STORY_TOPICS, build_index
from clinic_env.language.identity import IdentityCache
from clinic_env.language.lexicon import Lexicon, Question, lexicon
from clinic_env.schema.base import Frozen
from clinic_env.schema.case import Fact, PatientView
from clinic_env.schema.persona import BiasBehaviour, Persona, PersonaBehaviour

MOST_PARTS = 3
"""A question asking several things at once is answered a fact per part, up to this many,
however few words the persona uses."""


class PatientPhrases(Frozen):
    unknown: tuple[str, ...]
    deny: tuple[str, ...]
    deflect: tuple[str, ...]
    hesitate: tuple[str, ...]
    nothing_more: tuple[str, ...]
    guess: tuple[str, ...]
    acknowledge: tuple[str, ...]
    ideas: tuple[str, ...]
    concerns: tuple[str, ...]
    expectations: tuple[str, ...]
    thanks: tuple[str, ...]
    speaker_self: str


@functools.cache
def default_phrases() -> PatientPhrases:
    return load_yaml_model(
        content_path("agents", "prompts", "offline_patient.yaml"), PatientPhrases
    )


def speaker_label(view: PatientView) -> str:
    """Who is talking: "Patient", or the caregiver ("Mother") for infants and small children."""
    if view.informant == "caregiver" and view.caregiver:
        return view.caregiver[:1].upper() + view.caregiver[1:]
    return default_phrases().speaker_self


def shifted_behaviour(
    behaviour: PersonaBehaviour, shifts: Iterable[BiasBehaviour]
) -> PersonaBehaviour:
    """A persona's numbers with every bias's shifts added, clipped to their ranges."""
    verbosity, disclosure = behaviour.verbosity, behaviour.disclosure
    patience, cues = behaviour.patience, behaviour.emotional_cues
    for shift in shifts:
        verbosity += shift.verbosity
        disclosure += shift.disclosure
        patience += shift.patience
        cues += shift.emotional_cues
    return PersonaBehaviour(
        verbosity=min(1.0, max(0.0, verbosity)),
        disclosure=min(1.0, max(0.0, disclosure)),
        patience=max(1, patience),
        emotional_cues=min(1.0, max(0.0, cues)),
    )


def _voiced(facts: tuple[Fact, ...]) -> tuple[str, ...]:
    """How the patient says each fact: in its own words where the case gives them."""
    return tuple(fact.says or fact.text for fact in facts)


_voices = IdentityCache(_voiced, 4096)


class Stance:
    """One bias acted out by the offline patient, turn by turn."""

    def __init__(self, use: BiasUse) -> None:
        self.rules = use.bias.offline
        self.says = use.says
        self.lines = use.lines
        self.guard = 1.0
        """1 while fully on guard; each rapport message of a kind it responds to lowers it."""
        self.pushed = 0
        self.yielded = False
        self._turns: dict[str, int] = {}

    def _next(self, name: str, lines: tuple[str, ...]) -> str:
        """The next of ``lines``, in turn, so a repeated cue does not repeat the same words."""
        count = self._turns.get(name, 0)
        self._turns[name] = count + 1
        return lines[count % len(lines)]

    def hear(self, asked: Question) -> None:
        if asked.rapport & set(self.rules.rapport_cues):
            self.guard = max(0.0, self.guard - self.rules.rapport)

    def withheld(self, topics: frozenset[str]) -> float:
        """The (negative) change to the chance of telling a fact on these topics now."""
        return self.guard * sum(self.rules.withholds.get(topic, 0.0) for topic in topics)

    def belief(self, cue: str) -> str | None:
        """The belief restated, when ``cue`` brings it back and the patient holds it still."""
        if self.yielded or not self.lines.belief or cue not in self.rules.belief_on:
            return None
        self.says = None
        return self._next("belief", self.lines.belief)

    def push(self) -> str | None:
        """Pushback on a proposal (with a request, if it has one), or the concession."""
        if self.yielded or not self.lines.pushback:
            return None
        self.pushed += 1
        if self.rules.yields_after and self.pushed > self.rules.yields_after:
            self.yielded = True
            return self._next("concede", self.lines.concede)
        line = self._next("pushback", self.lines.pushback)
        if self.lines.requests:
            line = f"{line} {self._next('requests', self.lines.requests)}"
        return line

    def extras(self, turn: int) -> list[str]:
        """What this bias adds to reply number ``turn`` unasked."""
        rules, found = self.rules, []
        if self.says is not None and turn >= rules.voice_turn:
            found.append(self.says)
            self.says = None
        if rules.request_turn == turn and not self.yielded:
            found.append(self._next("requests", self.lines.requests))
        asking = rules.asks_every and turn > rules.voice_turn and self.guard > 0
        if asking and (turn - rules.voice_turn) % rules.asks_every == 0 and not self.yielded:
            found.append(self._next("asks", self.lines.asks))
        return found


class OfflinePatient:
    """A deterministic, fact-grounded patient driven by a persona's numbers."""

    offline = True

    def __init__(self, view: PatientView, persona: Persona, rng: random.Random) -> None:
        self.view = view
        self.persona = persona
        self.rng = rng
        self.words: Lexicon = lexicon()
        self.index = build_index(view.facts)
        self.voices = _voices(view.facts)
        self.phrases = default_phrases()
        self.unknown = persona.phrases.unknown or self.phrases.unknown
        self.behaviour = persona.behaviour
        self.stances: list[Stance] = []
        self.told: set[int] = set()
        self.withheld: set[int] = set()
        self.turns = 0

    def take_biases(self, uses: Sequence[BiasUse]) -> None:
        """Act out the patient's biases: shifted persona numbers and a stance per bias."""
        mine = [use for use in uses if use.role == "patient"]
        self.behaviour = shifted_behaviour(self.persona.behaviour, (u.bias.offline for u in mine))
        self.stances = [Stance(use) for use in mine]

    async def reply(self, question: PatientQuestion) -> PatientReply:
        return self.answer(question.text)

    def answer(self, question: str) -> PatientReply:
        """The synchronous core of :meth:`reply` (no I/O)."""
        self.turns += 1
        asked = self.words.question(question)
        for stance in self.stances:
            stance.hear(asked)
        body, chosen = self._respond(asked)
        self.told.update(chosen)
        if self.stances:
            extras = [line for stance in self.stances for line in stance.extras(self.turns)]
            body = " ".join((body, *extras))
        return PatientReply(self._decorate(body), tuple(chosen))

    def _respond(self, asked: Question) -> tuple[str, list[int]]:
        """The reply's body and the facts it tells."""
        if asked.is_probe or asked.kind == "guess":
            cue = "probe" if asked.is_probe else "guess"
            said = self._first(stance.belief(cue) for stance in self.stances)
            lines = self.phrases.deflect if asked.is_probe else self.phrases.guess
            return said or self.rng.choice(lines), []
        if asked.kind == "proposal":
            said = self._first(stance.push() for stance in self.stances)
            return said or self.rng.choice(self.phrases.acknowledge), []
        if asked.rapport and asked.is_statement:
            return self.rng.choice(self.phrases.thanks), []
        for kind in sorted(asked.ice) if self.stances else ():
            said = self._first(stance.belief(kind) for stance in self.stances)
            if said:
                return said, []
        chosen, held_back = self._select(asked)
        if chosen:
            voices = self.voices
            return " ".join([voices[i] for i in chosen]), chosen
        if held_back:
            return self.rng.choice(self.phrases.hesitate), []
        if asked.ice:
            return self.rng.choice(getattr(self.phrases, sorted(asked.ice)[0])), []
        if asked.is_open:
            return self.rng.choice(self.phrases.nothing_more), []
        if asked.is_yes_no:
            return self.rng.choice(self.phrases.deny), []
        return self.rng.choice(self.unknown), []

    @staticmethod
    def _first(lines: Iterable[str | None]) -> str | None:
        return next((line for line in lines if line), None)

    def _select(self, asked: Question) -> tuple[list[int], bool]:
        """The facts to tell, and whether a relevant fact was held back."""
        candidates: Sequence[int]
        most = 1 + round(self.behaviour.verbosity * 2)
        if asked.is_open and asked.topics <= STORY_TOPICS:
            candidates = self._untold_story()
        else:
            candidates, parts = self.index.answer(asked)
            most = max(most, min(MOST_PARTS, parts))
            if not candidates and self._about_the_complaint(asked):
                candidates = self._untold_story()
        chosen: list[int] = []
        held_back = False
        told, withheld, disclosure = self.told, self.withheld, self.behaviour.disclosure
        for i in candidates:
            if len(chosen) == most:
                break
            if i in told:
                chosen.append(i)
            elif i not in withheld and self.rng.random() >= disclosure:
                withheld.add(i)
                held_back = True
            elif self.stances and not self._dares(i):
                held_back = True
            else:
                chosen.append(i)
        return chosen, held_back

    def _untold_story(self) -> list[int]:
        return [i for i in self.index.story_order if i not in self.told]

    def _about_the_complaint(self, asked: Question) -> bool:
        """A question about the complaint itself ("when did it start?", "is it getting
        worse?"), naming nothing else the case holds and no topic of the history ("any sexual
        health concerns?"): the story answers it when no fact answers it by its words."""
        topics, words = asked.topics, self.words
        if topics.isdisjoint(STORY_CATEGORIES) or not topics.isdisjoint(words.history_categories):
            return False
        if asked.ice or asked.groups:
            return False
        return words.specific(asked.terms).isdisjoint(self.index.postings)

    def _dares(self, fact: int) -> bool:
        """Whether the biases' guard lets a fact out this time (drawn afresh at each ask);
        asked only with biases: with nothing guarded, no draw, as a chance of 1 needs none."""
        chance = 1.0 + sum(s.withheld(self.index.topics[fact]) for s in self.stances)
        return chance >= 1.0 or self.rng.random() < chance

    def _decorate(self, body: str) -> str:
        """Add the persona's opener, emotional cue and impatience around the answer."""
        behaviour, phrases = self.behaviour, self.persona.phrases
        parts = []
        if phrases.openers and self.rng.random() < 0.5:
            parts.append(self.rng.choice(phrases.openers))
        parts.append(body)
        if phrases.cues and self.rng.random() < behaviour.emotional_cues:
            parts.append(self.rng.choice(phrases.cues))
        if phrases.impatience and self.turns > behaviour.patience:
            parts.append(self.rng.choice(phrases.impatience))
        return " ".join(parts)


@PATIENTS.register("offline", offline=True)
def make_offline_patient(view: PatientView, persona: Persona, rng: random.Random) -> OfflinePatient:
    """Answers from the case's facts by rules, in the persona's manner; no model."""
    return OfflinePatient(view, persona, rng)
