"""Request keys and bodies are byte for byte what they were: recorded caches stay valid."""

import json

from clinic_env.llm.encoding import request_body, request_key

MESSAGES = [
    {"role": "system", "content": "Tu es un patient. Ça va?"},
    {"role": "user", "content": "Any fever?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "c1",
                "type": "function",
                "function": {"name": "order_test", "arguments": '{"test":"CBC"}'},
            }
        ],
    },
]
REQUEST = {
    "model": "openai/stub",
    "api_base": "http://127.0.0.1:8000/v1",
    "messages": MESSAGES,
    "temperature": 0.0,
    "max_tokens": 64,
    "seed": 7,
    "stop": ["\n"],
    "extra_body": {"top_k": 5, "min_p": 0.1},
}


def test_a_request_key_is_the_one_recorded_caches_hold():
    # Computed with json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # before the encoders were built once: a change here orphans every recorded cache.
    expected = "6f8e84deb0a72b86d547376fed6d53f429c4a6a82740afc471c87e66a82aaed2"
    assert request_key(REQUEST) == expected
    assert request_key(dict(reversed(list(REQUEST.items())))) == expected


def test_a_body_is_compact_json_with_the_messages_spliced_in():
    payload = {"model": "stub", "temperature": 0.0, "max_tokens": 64, "seed": 7}
    body = request_body(payload, MESSAGES)
    assert body.startswith(b'{"model":"stub","temperature":0.0,"max_tokens":64,"seed":7,')
    assert "Ça va".encode() in body
    assert json.loads(body) == payload | {"messages": MESSAGES}
    assert request_body(payload, MESSAGES) == body
