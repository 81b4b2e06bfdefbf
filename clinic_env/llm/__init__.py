"""The model path: one async client, its reply cache, and per-role settings.

Local OpenAI-compatible servers are called over aiohttp, hosted providers through litellm.
Importing this package imports neither; the first call that reaches a server does. Use the
client as ``async with ModelClient() as client`` (or ``await client.aclose()``) to close its
connections at a chosen point; otherwise they close with each event loop that used them.
"""

from clinic_env.llm.cache import CacheMode, ReplayMissError, ReplyCache
from clinic_env.llm.client import Completion, ModelClient
from clinic_env.llm.config import ModelConfig, as_model_config
from clinic_env.llm.errors import ModelCallError, UnusableRecordError

__all__ = [
    "CacheMode",
    "Completion",
    "ModelCallError",
    "ModelClient",
    "ModelConfig",
    "ReplayMissError",
    "ReplyCache",
    "UnusableRecordError",
    "as_model_config",
]
