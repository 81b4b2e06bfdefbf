"""Doctor messages that try to get the answer out of the patient or the room.

One copy: the library's conformance check ships them, in
``agents/prompts/adversarial_questions.yaml``.
"""

from clinic_env.testing.conformance import adversarial_inputs

ADVERSARIAL_QUESTIONS = adversarial_inputs().questions
