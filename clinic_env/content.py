"""Finding and validating the declarative content files (cases, personas, prompts, rubrics).

Content lives in the top-level folders ``agents/``, ``cases/`` and ``evaluators/`` of the
repository and ships inside the wheel under ``clinic_env/_content``. Every file is validated
against a pydantic model on load, and a bad one raises an error that names the file, the line
and the field, so that adding a persona or a case is adding a file and nothing more.

Reading is strict, since content files may come from anyone: UTF-8 only (an error gives the
byte offset), no duplicate keys, no YAML aliases (a few hundred bytes of nested aliases can
stand for billions of nodes), at most :data:`MAX_NESTING` levels, and finite numbers only
(the models refuse ``.inf`` and ``.nan``). JSONL lines are read by :func:`parse_json_line`
and :func:`validate_json_line` with the same rules and errors that say what went wrong,
e.g. a truncated line.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import from_json

from clinic_env.errors import ContentError, UserError
from clinic_env.schema.base import valid_texts

ModelT = TypeVar("ModelT", bound=BaseModel)

CONTENT_FOLDERS = ("agents", "cases", "evaluators")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_NESTING = 64
"""How deep a content file may nest mappings and lists (the bundled ones need under 10)."""


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


def _check_tree(root: yaml.Node, path: Path, error: type[UserError]) -> None:
    """Refuse duplicate keys, aliases and deep nesting, visiting every node once.

    An alias makes one node appear in several places, and nested aliases multiply: a few
    hundred bytes can stand for billions of nodes (an "alias bomb"). Content files need
    none, so the first node met twice is an error, and the walk stays linear in the file.
    """
    seen: set[int] = set()
    pending: list[tuple[yaml.Node, int, int]] = [(root, 1, root.start_mark.line + 1)]
    while pending:
        node, depth, line = pending.pop()  # ``line``: where the node is used (an alias's line)
        if id(node) in seen:
            raise error(
                f"{format_location(path, line, None)}: YAML aliases (*name) are not allowed in "
                "clinic-env files; write the value out"
            )
        seen.add(id(node))
        if depth > MAX_NESTING:
            raise error(
                f"{format_location(path, line, None)}: nested deeper than {MAX_NESTING} levels"
            )
        children: list[tuple[yaml.Node, int, int]] = []
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key, value in node.value:
                key_line = key.start_mark.line + 1
                if isinstance(key, yaml.ScalarNode):
                    if key.value in keys:
                        raise error(f"{format_location(path, key_line, key.value)}: duplicate key")
                    keys.add(key.value)
                children += [(key, depth + 1, key_line), (value, depth + 1, key_line)]
        elif isinstance(node, yaml.SequenceNode):
            children = [(item, depth + 1, line) for item in node.value]
        pending.extend(reversed(children))  # in document order, so an alias is met after its anchor


def decode_utf8(data: bytes, path: Path | str, error: type[UserError] = ContentError) -> str:
    """``data`` as text; bytes that are not UTF-8 are an error naming the file and offset."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 4]
        raise error(
            f"{path}: not UTF-8 text (byte offset {exc.start}: {bad!r}); save it as UTF-8"
        ) from None


def read_yaml(path: Path, error: type[UserError] = ContentError) -> tuple[Any, yaml.Node | None]:
    """Parse a YAML file, returning its data and its node tree (for line numbers)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    loader = _LOADER(decode_utf8(raw, path, error))
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        _check_tree(node, path, error)
        return valid_texts(loader.construct_document(node)), node
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise error(f"{format_location(path, line, None)}: invalid YAML: {problem}") from exc
    finally:
        loader.dispose()


NON_FINITE = "non-finite number (Infinity or NaN); only finite numbers are allowed"


def truncated(number: int) -> str:
    return f"truncated line {number}: it ends before its JSON does (a write cut short)"


def json_problem(message: str, line: str | bytes, number: int) -> str:
    """The JSON parser's complaint about line ``number`` of a JSONL file, in words that say
    what happened (a line cut short is not a "control character")."""
    if message.startswith("EOF while parsing") or (
        message.startswith("control character") and "line 2 column" in message
    ):
        return truncated(number)
    if "recursion limit exceeded" in message:
        return f"nested too deeply ({message})"
    column = re.search(r"line 1 column (\d+)", message)
    if message.startswith(("expected value", "invalid number")) and column:
        text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
        rest = text[int(column.group(1)) - 1 :].lstrip("-+")
        if rest.startswith(("Infinity", "NaN", "inf", "nan")):
            return NON_FINITE
    return f"invalid JSON: {message}"


def parse_json_line(
    line: str | bytes, path: Path | str, number: int, error: type[UserError] = ContentError
) -> Any:
    """One JSONL line as data: finite numbers only, at most 200 levels deep (the parser's
    limit), lone surrogates (``"\\ud800"``) replaced; any problem is an error naming the
    file and line."""
    where = f"{path}:{number}"
    try:
        return from_json(line, allow_inf_nan=False)
    except ValueError as exc:
        if "surrogate" not in str(exc) and "hex escape" not in str(exc):
            raise error(f"{where}: {json_problem(str(exc), line, number)}") from None
    text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
    try:  # the slower parser, which keeps a lone surrogate for valid_texts to replace
        return valid_texts(json.loads(text, parse_constant=_refuse_constant))
    except json.JSONDecodeError as exc:
        cut = exc.pos >= len(text.rstrip()) or "Unterminated string" in exc.msg
        problem = truncated(number) if cut else f"invalid JSON: {exc.msg} (column {exc.colno})"
        raise error(f"{where}: {problem}") from None
    except RecursionError:
        raise error(f"{where}: nested too deeply") from None
    except ValueError:
        raise error(f"{where}: {NON_FINITE}") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)


def validate_json_line(
    line: str | bytes,
    model: type[ModelT],
    path: Path | str,
    number: int,
    error: type[UserError] = ContentError,
) -> ModelT:
    """One JSONL line as ``model``, with the errors of :func:`parse_json_line` and of the
    model's validation, each naming the file, the line and the field."""
    try:
        return model.model_validate_json(line)
    except ValidationError as exc:
        broken = [p for p in exc.errors() if p["type"] == "json_invalid"]
        if not broken:
            raise error(validation_message(exc, path, base_line=number)) from None
    data = parse_json_line(line, path, number, error)  # says what is wrong, or mends text
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(validation_message(exc, path, base_line=number)) from None


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
