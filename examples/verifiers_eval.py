"""The verifiers v1 taskset and env, evaluated with a model served at an OpenAI-compatible URL.

verifiers finds a taskset by a top-level module name; ``clinic_env_verifiers`` is that
package (a re-export of ``clinic_env.adapters.verifiers``). In its own environment:

    pip install "clinic-env[verifiers]"
    vf-eval clinic_env_verifiers --env.doctor.model <model> --env.doctor.client.base-url <url>
"""

from clinic_env.adapters.verifiers import ConsultationEnv, ConsultationTaskset

print(ConsultationEnv.__name__, ConsultationTaskset.__name__)
