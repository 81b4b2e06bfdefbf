"""Serve the consultation with OpenEnv and play it over the client's WebSocket session.

pip install "clinic-env[openenv]"
python examples/openenv_server.py serve          # in one shell
python examples/openenv_server.py                # in another
"""

import sys

from clinic_env.adapters.openenv import ConsultationAction, ConsultationClient, create_clinic_app

URL = "http://127.0.0.1:8000"

if __name__ == "__main__" and sys.argv[1:] == ["serve"]:
    import uvicorn

    uvicorn.run(create_clinic_app(dataset="starter"), host="127.0.0.1", port=8000)
elif __name__ == "__main__":
    with ConsultationClient(base_url=URL).sync() as env:
        result = env.reset(seed=0, case_id="surg-001")
        for message in ("Where is the pain?", "REQUEST TEST: CBC", "DIAGNOSIS READY: Appendicitis"):
            result = env.step(ConsultationAction(message=message))
            print(result.reward, result.observation.reward_breakdown)
        print(result.observation.episode)
