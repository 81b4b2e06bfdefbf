"""The model path: one async client over litellm, its reply cache, and per-role settings.

Importing this package does not import litellm; the first call that reaches a server does.
"""

from clinic_env.llm.cache import CacheMode, ReplayMissError, ReplyCache
from clinic_env.llm.client import Completion, ModelClient
from clinic_env.llm.config import ModelConfig, as_model_config
from clinic_env.llm.errors import ModelCallError

__all__ = [
    "CacheMode",
    "Completion",
    "ModelCallError",
    "ModelClient",
    "ModelConfig",
    "ReplayMissError",
    "ReplyCache",
    "as_model_config",
]
