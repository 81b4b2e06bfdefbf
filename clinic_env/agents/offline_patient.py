"""The offline patient: answers from the case's facts, never invents, never diagnoses.

It retrieves the facts most relevant to the doctor's question (weighted word overlap with
synonym groups, a bonus when the question's topic matches a fact's category), tells at most
as many as its persona's verbosity allows, may hold a fact back the first time it is asked
(persona disclosure), denies or says it does not know what the case does not contain, grows
impatient after its persona's patience runs out, and deflects any attempt to make it name a
diagnosis or reveal its instructions. Its words are the case's facts and the content files'
phrases, nothing else, so it cannot state what the case does not hold.

Biases it is given shift its persona's numbers (a distrustful patient discloses less) and may
give it one line to voice, once: a cognitive bias's belief about the wrong diagnosis it
favours, said on its turn or when the doctor asks for the patient's own idea of the illness.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Sequence

from clinic_env.agents.base import PATIENTS, PatientQuestion, PatientReply
from clinic_env.agents.biasing import BiasUse, shifted_behaviour
from clinic_env.content import content_path, load_yaml_model
from clinic_env.language.facts import STORY_TOPICS, build_index
from clinic_env.language.lexicon import Lexicon, Question, lexicon
from clinic_env.schema.base import Frozen
from clinic_env.schema.case import Fact, PatientView
from clinic_env.schema.persona import Persona


class PatientPhrases(Frozen):
    unknown: tuple[str, ...]
    deny: tuple[str, ...]
    deflect: tuple[str, ...]
    hesitate: tuple[str, ...]
    nothing_more: tuple[str, ...]
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


class OfflinePatient:
    """A deterministic, fact-grounded patient driven by a persona's numbers."""

    offline = True

    def __init__(self, view: PatientView, persona: Persona, rng: random.Random) -> None:
        self.view = view
        self.persona = persona
        self.rng = rng
        self.words: Lexicon = lexicon()
        self.index = build_index(view.facts)
        defaults = default_phrases()
        phrases = persona.phrases
        self.unknown = phrases.unknown or defaults.unknown
        self.deny = defaults.deny
        self.deflect = defaults.deflect
        self.hesitate = defaults.hesitate
        self.nothing_more = defaults.nothing_more
        self.cues = phrases.cues
        self.impatience = phrases.impatience
        self.openers = phrases.openers
        self.behaviour = persona.behaviour
        self.max_facts = 1 + round(self.behaviour.verbosity * 2)
        self.told: set[int] = set()
        self.withheld: set[int] = set()
        self.turns = 0
        self.beliefs: list[tuple[int, str]] = []
        """(reply number, line) still to voice, from the biases taken."""

    def take_biases(self, uses: Sequence[BiasUse]) -> None:
        """Act out the patient's biases: shifted persona numbers and lines voiced once."""
        mine = [use for use in uses if use.role == "patient"]
        self.behaviour = shifted_behaviour(self.persona.behaviour, (u.bias.offline for u in mine))
        self.beliefs = sorted(
            (use.bias.offline.voice_turn, use.says) for use in mine if use.says is not None
        )

    async def reply(self, question: PatientQuestion) -> PatientReply:
        return self.answer(question.text)

    def answer(self, question: str) -> PatientReply:
        """The synchronous core of :meth:`reply` (no I/O)."""
        self.turns += 1
        asked = self.words.question(question)
        if asked.is_probe:
            if self.beliefs:
                return PatientReply(self._decorate(self.beliefs.pop(0)[1]))
            return PatientReply(self._decorate(self.rng.choice(self.deflect)))
        chosen, held_back = self._select(asked)
        if chosen:
            body = " ".join(self._voice(self.view.facts[i]) for i in chosen)
        elif held_back:
            body = self.rng.choice(self.hesitate)
        elif asked.is_open:
            body = self.rng.choice(self.nothing_more)
        elif asked.is_yes_no:
            body = self.rng.choice(self.deny)
        else:
            body = self.rng.choice(self.unknown)
        self.told.update(chosen)
        if self.beliefs and self.beliefs[0][0] <= self.turns:
            body = f"{body} {self.beliefs.pop(0)[1]}"
        return PatientReply(self._decorate(body), tuple(chosen))

    def _select(self, asked: Question) -> tuple[list[int], bool]:
        """The facts to tell, and whether a relevant fact was held back."""
        candidates: Sequence[int]
        if asked.is_open and asked.topics <= STORY_TOPICS:
            candidates = [i for i in self.index.story_order if i not in self.told]
        else:
            candidates = self.index.relevant(asked)
        chosen: list[int] = []
        held_back = False
        disclosure = self.behaviour.disclosure
        for i in candidates:
            if len(chosen) == self.max_facts:
                break
            if i in self.told or i in self.withheld or self.rng.random() < disclosure:
                chosen.append(i)
            else:
                self.withheld.add(i)
                held_back = True
        return chosen, held_back

    def _voice(self, fact: Fact) -> str:
        return fact.says or fact.text

    def _decorate(self, body: str) -> str:
        """Add the persona's opener, emotional cue and impatience around the answer."""
        behaviour = self.behaviour
        parts = []
        if self.openers and self.rng.random() < 0.5:
            parts.append(self.rng.choice(self.openers))
        parts.append(body)
        if self.cues and self.rng.random() < behaviour.emotional_cues:
            parts.append(self.rng.choice(self.cues))
        if self.impatience and self.turns > behaviour.patience:
            parts.append(self.rng.choice(self.impatience))
        return " ".join(parts)


@PATIENTS.register("offline")
def make_offline_patient(view: PatientView, persona: Persona, rng: random.Random) -> OfflinePatient:
    return OfflinePatient(view, persona, rng)
