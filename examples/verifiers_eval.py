"""The verifiers v1 taskset and env, evaluated with a model served at an OpenAI-compatible URL.

verifiers finds a taskset by a top-level module name; ``clinic_env_verifiers`` is that
package (a re-export of ``clinic_env.adapters.verifiers``). In its own environment:

    pip install "clinic-env[verifiers]" uv
    vf-eval clinic_env_verifiers -m <model> --client.base-url <url> \
        --env.doctor.runtime.type subprocess --no-push

(``runtime.type subprocess`` runs the doctor's chat harness here rather than in a Prime
sandbox; tests/adapters/test_verifiers.py runs this against the stub model server.)
"""

from clinic_env.adapters.verifiers import ConsultationEnv, ConsultationTaskset

print(ConsultationEnv.__name__, ConsultationTaskset.__name__)
