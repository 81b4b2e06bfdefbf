"""Prompt templates: Markdown files under ``agents/prompts/`` with ``$name`` placeholders.

Keeping every word a model is told in content files means a prompt can be read, reviewed
and changed without touching code. A template that names a placeholder nobody fills, or
misses one the code fills, is an error naming the file.
"""

from __future__ import annotations

import functools
from string import Template

from clinic_env.content import content_path
from clinic_env.errors import ContentError


@functools.cache
def _template(name: str) -> tuple[Template, str]:
    path = content_path("agents", "prompts", f"{name}.md")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ContentError(f"{path}: prompt template cannot be read ({exc.strerror})") from exc
    return Template(text), str(path)


def render_prompt(name: str, **values: str) -> str:
    """The template ``agents/prompts/<name>.md`` with every placeholder filled."""
    template, path = _template(name)
    wanted = set(template.get_identifiers())
    missing = wanted - set(values)
    if missing:
        raise ContentError(f"{path}: no value for placeholder(s) {', '.join(sorted(missing))}")
    unused = set(values) - wanted
    if unused:
        raise ContentError(f"{path}: the template lacks placeholder(s) {', '.join(sorted(unused))}")
    return template.substitute(values).strip()
