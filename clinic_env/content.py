"""Finding and validating the declarative content files (cases, personas, prompts, rubrics).

Content lives in the top-level folders ``agents/``, ``cases/`` and ``evaluators/`` of the
repository and ships inside the wheel under ``clinic_env/_content``. Every file is validated
against a pydantic model on load, and a bad one raises an error that names the file, the line
and the field, so that adding a persona or a case is adding a file and nothing more.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from clinic_env.errors import ContentError, UserError

ModelT = TypeVar("ModelT", bound=BaseModel)

CONTENT_FOLDERS = ("agents", "cases", "evaluators")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.cache
def content_root() -> Path:
    """The folder holding ``agents/``, ``cases/`` and ``evaluators/``.

    An installed wheel carries them in ``clinic_env/_content``; a source checkout (editable
    install, or tests run from the repository) has them at the repository's top level.
    """
    packaged = Path(str(resources.files("clinic_env"))) / "_content"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parent.parent
    if all((checkout / folder).is_dir() for folder in CONTENT_FOLDERS):
        return checkout
    raise ContentError(
        f"clinic-env's content folders were not found in {packaged} or {checkout}; "
        "reinstall the package (pip install clinic-env)"
    )


def content_path(*parts: str) -> Path:
    """Path of a content file or folder, e.g. ``content_path("agents", "personas")``."""
    return content_root().joinpath(*parts)


def content_files(folder: Path, suffixes: Sequence[str] = (".yaml", ".yml")) -> list[Path]:
    """The content files in ``folder``, sorted by name so that every listing is stable."""
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir() if path.suffix in suffixes)


def format_location(path: Path | str, line: int | None, field: str | None) -> str:
    """``file:line (field x.y)``, the prefix every content and case error starts with."""
    where = str(path) if line is None else f"{path}:{line}"
    return where if not field else f"{where} (field {field})"


def _field_name(loc: Sequence[int | str]) -> str:
    return ".".join(str(part) for part in loc if part != "[key]") or "<root>"


def _node_line(node: yaml.Node, loc: Sequence[int | str]) -> int:
    """The 1-based line of the deepest YAML node along a pydantic error location."""
    line = node.start_mark.line + 1
    for part in loc:
        if part == "[key]":  # pydantic's marker for a bad mapping key: the key's own line
            break
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    child = value
                    line = key.start_mark.line + 1
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            child = node.value[part]
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line


def _check_duplicate_keys(node: yaml.Node, path: Path) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    raise ContentError(
                        f"{format_location(path, key.start_mark.line + 1, key.value)}: "
                        "duplicate key"
                    )
                seen.add(key.value)
            _check_duplicate_keys(value, path)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_duplicate_keys(item, path)


def read_yaml(path: Path, error: type[UserError] = ContentError) -> tuple[Any, yaml.Node | None]:
    """Parse a YAML file, returning its data and its node tree (for line numbers)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    try:
        node = yaml.compose(text, Loader=_LOADER)
        data = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise error(f"{format_location(path, line, None)}: invalid YAML: {problem}") from exc
    if node is not None:
        _check_duplicate_keys(node, path)
    return data, node


def validation_message(
    exc: ValidationError, path: Path | str, line_of: Any = None, base_line: int | None = None
) -> str:
    """One readable line per validation problem, each naming file, line and field."""
    lines = []
    for problem in exc.errors():
        loc = problem["loc"]
        line = line_of(loc) if line_of is not None else base_line
        lines.append(f"{format_location(path, line, _field_name(loc))}: {problem['msg']}")
    return "\n".join(lines)


def load_yaml_model(
    path: Path, model: type[ModelT], error: type[UserError] = ContentError
) -> ModelT:
    """Load one YAML file into ``model``; errors name the file, line and field."""
    data, node = read_yaml(path, error)
    if data is None:
        raise error(f"{path}: the file is empty")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        line_of = (lambda loc: _node_line(node, loc)) if node is not None else None
        raise error(validation_message(exc, path, line_of)) from None


def load_yaml_folder(
    folder: Path, model: type[ModelT], error: type[UserError] = ContentError
) -> Iterator[tuple[Path, ModelT]]:
    """Load every YAML file of a folder, in name order."""
    for path in content_files(folder):
        yield path, load_yaml_model(path, model, error)
