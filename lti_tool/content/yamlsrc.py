"""YAML loading that remembers the line of every key and item, plus a typed field reader."""

from __future__ import annotations

import difflib
import math
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import Problem, Severity


class YMap(dict[Any, Any]):
    """A mapping from YAML that knows its own line and the line of each key."""

    line: int
    key_lines: dict[Any, int]

    def line_of(self, key: Any) -> int:
        """Line of ``key`` when present, else the line where the mapping starts."""
        return self.key_lines.get(key, self.line)


class YList(list[Any]):
    """A sequence from YAML that knows its own line and the line of each item."""

    line: int
    item_lines: list[int]

    def line_at(self, index: int) -> int:
        """Line of item ``index``."""
        return self.item_lines[index] if index < len(self.item_lines) else self.line


class Source:
    """A file being checked: collects problems located in it."""

    def __init__(self, path: Path, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems

    def error(self, line: int | None, message: str) -> None:
        """Record an error at ``line``."""
        self.add(line, message, "error")

    def warning(self, line: int | None, message: str) -> None:
        """Record a warning at ``line``."""
        self.add(line, message, "warning")

    def add(self, line: int | None, message: str, severity: Severity) -> None:
        """Record a problem of the given severity."""
        self.problems.append(Problem(self.path, line, message, severity))


def load_yaml(path: Path, problems: list[Problem]) -> YMap | None:
    """Parse ``path`` into YMap/YList/scalars; report syntax errors with the parser's line."""
    src = Source(path, problems)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        src.error(None, "file not found")
        return None
    except UnicodeDecodeError as exc:
        src.error(None, f"file is not UTF-8 text ({exc.reason}); save it as UTF-8")
        return None
    return parse_yaml(text, src)


def parse_yaml(text: str, src: Source) -> YMap | None:
    """Parse YAML text for ``src``; the top level must be a mapping."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            src.error(1, "file is empty; it must be a YAML mapping (key: value lines)")
            return None
        _check_expansion(node, {}, depth=0)
        data = _convert(node, loader, src, depth=0)
    except _TooLarge as exc:
        src.error(exc.problem_mark.line + 1 if exc.problem_mark else None, str(exc.problem))
        return None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = exc.problem or "cannot parse this"
        if exc.context and exc.context_mark is not None and exc.context_mark.line + 1 != line:
            what += f" ({exc.context} that starts at line {exc.context_mark.line + 1})"
        elif exc.context:
            what += f" ({exc.context})"
        src.error(line, f"YAML syntax error: {what}; check the indentation and quoting here or just above "
                        "(text containing ': ' or starting with a quote or bracket needs quotes)")
        return None
    except yaml.YAMLError as exc:
        src.error(None, f"YAML error: {exc}")
        return None
    finally:
        loader.dispose()
    if not isinstance(data, YMap):
        src.error(_line(node), "the top level must be a mapping of keys to values, not a list or text")
        return None
    return data


_MAX_DEPTH = 50  # deeper than any real package; stops self-referring aliases and recursion
# Values produced, counting each use of an alias anew. The largest shipped module has a few
# thousand; an alias bomb (ten levels of nine aliases each) would make billions.
_MAX_VALUES = 100_000


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


class _TooLarge(yaml.MarkedYAMLError):  # type: ignore[misc]  # PyYAML ships no type hints
    """Well-formed YAML that expands beyond any real package."""


def _check_expansion(node: Node, sizes: dict[int, int], depth: int) -> int:
    """How many values the node becomes once every alias is expanded, counted without
    expanding (each node once), so an alias bomb is refused in milliseconds."""
    if id(node) in sizes:
        return sizes[id(node)]
    if depth > _MAX_DEPTH:
        raise yaml.MarkedYAMLError(problem="nesting is too deep (or an alias refers to itself)",
                                   problem_mark=node.start_mark)
    size = 1
    if isinstance(node, SequenceNode):
        size += sum(_check_expansion(item, sizes, depth + 1) for item in node.value)
    elif isinstance(node, MappingNode):
        size += sum(_check_expansion(key, sizes, depth + 1)
                    + _check_expansion(value, sizes, depth + 1) for key, value in node.value)
    if size > _MAX_VALUES:
        raise _TooLarge(
            problem=f"aliases (*name) here expand to more than {_MAX_VALUES:,} values; "
                    "no package needs that many (is this an alias bomb?)",
            problem_mark=node.start_mark)
    sizes[id(node)] = size
    return size


def _convert(node: Node, loader: yaml.SafeLoader, src: Source, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise yaml.MarkedYAMLError(problem="nesting is too deep (or an alias refers to itself)",
                                   problem_mark=node.start_mark)
    if isinstance(node, ScalarNode):
        return loader.construct_object(node, deep=True)
    if isinstance(node, SequenceNode):
        items = YList(_convert(item, loader, src, depth + 1) for item in node.value)
        items.line = _line(node)
        items.item_lines = [_line(item) for item in node.value]
        return items
    if isinstance(node, MappingNode):
        loader.flatten_mapping(node)  # resolves "<<" merge keys the way PyYAML would
        out = YMap()
        out.line = _line(node)
        out.key_lines = {}
        for key_node, value_node in node.value:
            key = _convert(key_node, loader, src, depth + 1)
            if isinstance(key, (YMap, YList)):
                src.error(_line(key_node), "a key must be plain text")
                continue
            if key in out:
                # PyYAML keeps the last value silently; authors nearly always meant something else.
                src.error(_line(key_node), f"key '{key}' appears twice in this mapping "
                                           f"(first at line {out.key_lines[key]}); remove or rename one")
                continue
            out[key] = _convert(value_node, loader, src, depth + 1)
            out.key_lines[key] = _line(key_node)
        return out
    raise yaml.MarkedYAMLError(problem=f"unsupported YAML node {node.tag}", problem_mark=node.start_mark)


ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class Fields:
    """Reads typed fields from one YAML mapping, reporting problems at the right line."""

    def __init__(self, data: YMap, src: Source, where: str, allowed: set[str] | None = None) -> None:
        self.data = data
        self.src = src
        self.where = where
        if allowed is not None:
            for key in data:
                if key not in allowed:
                    hint = difflib.get_close_matches(str(key), sorted(allowed), n=1)
                    fix = f"did you mean '{hint[0]}'?" if hint else f"allowed keys: {', '.join(sorted(allowed))}"
                    src.error(data.line_of(key), f"unknown key '{key}' in {where}; {fix}")

    def line(self, key: str) -> int:
        """Line of ``key`` (or of the mapping when absent)."""
        return self.data.line_of(key)

    def _missing(self, key: str, required: bool, what: str) -> None:
        if required:
            self.src.error(self.data.line, f"{self.where} has no '{key}'; add {what}")

    def text(self, key: str, required: bool = True, what: str = "") -> str | None:
        """A non-empty string."""
        value = self.data.get(key)
        if value is None:
            self._missing(key, required, what or f"'{key}: ...'")
            return None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)  # "year: 2020" style numbers used as text are harmless
        if not isinstance(value, str):
            self.src.error(self.line(key), f"'{key}' of {self.where} must be text")
            return None
        if not value.strip():
            self.src.error(self.line(key), f"'{key}' of {self.where} is empty; write {what or 'some text'}")
            return None
        return value

    def ident(self, key: str = "id", required: bool = True) -> str | None:
        """An identifier: letters, digits, '-', '_' or '.'; numbers become text."""
        value = self.data.get(key)
        if value is None:
            self._missing(key, required, f"a short identifier ('{key}: ...')")
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            self.src.error(self.line(key), f"'{key}' of {self.where} must be a short identifier "
                                           "(quote it if it is yes/no/true/false)")
            return None
        value = str(value)
        if not ID_RE.match(value):
            self.src.error(self.line(key), f"'{key}' of {self.where} is '{value}'; use only letters, "
                                           "digits and hyphens")
            return None
        return value

    def number(self, key: str, required: bool = True, minimum: float | None = None,
               positive: bool = False, default: Fraction | None = None) -> Fraction | None:
        """A number (int or float) kept exactly as a Fraction."""
        value = self.data.get(key)
        if value is None:
            if default is not None:
                return default
            self._missing(key, required, f"a number ('{key}: ...')")
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            self.src.error(self.line(key), f"'{key}' of {self.where} must be a number, not '{value}'")
            return None
        # str() first so 0.1 becomes 1/10 rather than its binary approximation.
        num = Fraction(str(value)) if isinstance(value, float) else Fraction(value)
        if positive and num <= 0:
            self.src.error(self.line(key), f"'{key}' of {self.where} must be more than 0")
            return None
        if minimum is not None and num < minimum:
            self.src.error(self.line(key), f"'{key}' of {self.where} must be at least {minimum}")
            return None
        return num

    def integer(self, key: str, required: bool = True, low: int | None = None,
                high: int | None = None) -> int | None:
        """A whole number within [low, high]."""
        value = self.data.get(key)
        if value is None:
            self._missing(key, required, f"a whole number ('{key}: ...')")
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.src.error(self.line(key), f"'{key}' of {self.where} must be a whole number, not '{value}'")
            return None
        if (low is not None and value < low) or (high is not None and value > high):
            self.src.error(self.line(key), f"'{key}' of {self.where} is {value}; it must be "
                                           f"between {low} and {high}")
            return None
        return value

    def boolean(self, key: str, default: bool = False) -> bool:
        """true/false; absent means ``default``."""
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.src.error(self.line(key), f"'{key}' of {self.where} must be true or false")
            return default
        return value

    def seq(self, key: str, required: bool = True, what: str = "") -> YList | None:
        """A YAML list."""
        value = self.data.get(key)
        if value is None:
            self._missing(key, required, what or f"a list ('{key}:' then '- ...' lines)")
            return None
        if not isinstance(value, YList):
            self.src.error(self.line(key), f"'{key}' of {self.where} must be a list")
            return None
        return value

    def mapping(self, key: str, required: bool = True) -> YMap | None:
        """A YAML mapping."""
        value = self.data.get(key)
        if value is None:
            self._missing(key, required, f"a mapping ('{key}:' then indented 'key: value' lines)")
            return None
        if not isinstance(value, YMap):
            self.src.error(self.line(key), f"'{key}' of {self.where} must be a mapping of keys to values")
            return None
        return value

    def id_list(self, key: str, required: bool = True, what: str = "") -> list[tuple[str, int]]:
        """A list of identifiers, each with its line."""
        items = self.seq(key, required, what)
        if items is None:
            return []
        out = []
        for i, item in enumerate(items):
            if isinstance(item, bool) or not isinstance(item, (str, int)):
                self.src.error(items.line_at(i), f"'{key}' of {self.where} must list identifiers")
                continue
            out.append((str(item), items.line_at(i)))
        return out


def expect_map(value: Any, line: int, src: Source, where: str) -> YMap | None:
    """``value`` if it is a mapping, else report and return None."""
    if isinstance(value, YMap):
        return value
    kind = "a list" if isinstance(value, list) else "empty" if value is None else f"'{str(value)[:40]}'"
    src.error(line, f"{where} must be a mapping (key: value lines), not {kind}")
    return None
