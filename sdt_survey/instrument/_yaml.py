"""YAML reading that remembers where every value came from.

PyYAML turns a document into plain Python objects and forgets the line and
column of each one. Validation needs them to point a person at the exact spot,
so this module composes the node tree and builds the objects itself, keeping a
map from each value's path (``("items", 3, "scale")``) to its position.

Two deliberate departures from PyYAML's defaults:

* Booleans follow YAML 1.2: only ``true``/``false``. Under YAML 1.1 the
  language tag ``no`` (Norwegian) and answers like ``yes``/``on``/``off``
  silently become booleans, which is wrong for survey definitions.
* A key repeated in one mapping is an error, not "last one wins".
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .._untrusted import CONTROL_CHARACTER, control_characters, describe_character
from ..errors import Problem

NodePath = tuple  # of str | int

#: Upper bound on constructed values; guards against alias ("billion laughs") bombs.
MAX_NODES = 200_000


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans."""


_BOOL_TAG = "tag:yaml.org,2002:bool"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def format_path(path: NodePath) -> str:
    """Render ``("items", 3, "scale")`` as ``items[3].scale``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


@dataclass
class LocatedDocument:
    """A parsed YAML document with the position of every value and key."""

    filename: str
    data: object
    value_positions: dict = field(default_factory=dict)
    key_positions: dict = field(default_factory=dict)

    def position(self, path: NodePath, *, key: bool = False) -> tuple[int | None, int | None]:
        """1-based (line, column) of the value (or its key) at ``path``.

        Falls back to the nearest enclosing value when ``path`` does not exist,
        e.g. a missing required key is reported at its parent mapping.
        """
        path = tuple(path)
        if key and path in self.key_positions:
            return self.key_positions[path]
        while path:
            if path in self.value_positions:
                return self.value_positions[path]
            path = path[:-1]
        return self.value_positions.get((), (1, 1))

    def problem(self, path: NodePath, message: str, *, key: bool = False, severity: str = "error") -> Problem:
        line, column = self.position(path, key=key)
        return Problem(self.filename, line, column, format_path(path), message, severity)


def _mark(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    def __init__(self, loader: _Loader, doc: LocatedDocument, problems: list[Problem]):
        self.loader = loader
        self.doc = doc
        self.problems = problems
        self.count = 0
        self.stack: set[int] = set()

    def fail(self, node: Node, path: NodePath, message: str) -> None:
        line, column = _mark(node)
        self.problems.append(Problem(self.doc.filename, line, column, format_path(path), message))

    def build(self, node: Node, path: NodePath) -> object:
        self.count += 1
        if self.count > MAX_NODES:
            raise _TooLarge(node)
        self.doc.value_positions.setdefault(path, _mark(node))
        if id(node) in self.stack:
            self.fail(node, path, "an alias refers to the mapping or list that contains it")
            return None
        if isinstance(node, ScalarNode):
            try:
                value = self.loader.construct_object(node, deep=True)
            except yaml.YAMLError as exc:
                self.fail(node, path, f"cannot read this value: {_describe(exc)}")
                return None
            self.check_characters(node, path, value)
            return value
        self.stack.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
            if isinstance(node, MappingNode):
                return self.build_mapping(node, path)
        finally:
            self.stack.discard(id(node))
        self.fail(node, path, "unsupported YAML node")
        return None

    def check_characters(self, node: Node, path: NodePath, value: object) -> None:
        """Refuse a control character written as an escape (``"\\x07"``, ``"\\0"``) in a string."""
        found = CONTROL_CHARACTER.search(value) if isinstance(value, str) else None
        if found:
            self.fail(
                node,
                path,
                f"the text holds the control character {describe_character(found.group())} "
                "(written as an escape); remove it: exports, spreadsheets and terminals mangle it",
            )

    def build_mapping(self, node: MappingNode, path: NodePath) -> dict:
        """A mapping whose explicit keys win over merged ones (``<<: *base``), as YAML specifies."""
        result: dict = {}
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merges.append(value_node)
                continue
            if not isinstance(key_node, ScalarNode):
                self.fail(key_node, path, "a key must be a plain value, not a list or mapping")
                continue
            try:
                key = self.loader.construct_object(key_node, deep=True)
            except yaml.YAMLError as exc:
                self.fail(key_node, path, f"cannot read this key: {_describe(exc)}")
                continue
            if not isinstance(key, Hashable):
                self.fail(key_node, path, "a key must be a plain value")
                continue
            self.check_characters(key_node, path, key)
            child = (*path, key)
            if key in result:
                first_line = self.doc.key_positions[child][0]
                self.fail(key_node, child, f"duplicate key {key!r} (first given on line {first_line})")
                continue
            self.doc.key_positions[child] = _mark(key_node)
            result[key] = self.build(value_node, child)
        # Merged keys fill only what is not given explicitly; in ``<<: [*a, *b]`` the first wins.
        for merge in merges:
            sources = merge.value if isinstance(merge, SequenceNode) else [merge]
            for source in sources:
                if not isinstance(source, MappingNode):
                    self.fail(source, path, "a merge key (<<) takes a mapping or a list of mappings")
                    continue
                merged = self.build_merged(source, path)
                for key, value in merged.items():
                    result.setdefault(key, value)
        return result

    def build_merged(self, source: MappingNode, path: NodePath) -> dict:
        """Build a merged mapping in place of ``path``; positions already known are kept."""
        if id(source) in self.stack:
            self.fail(source, path, "a merge key (<<) refers to the mapping that contains it")
            return {}
        saved_keys = dict(self.doc.key_positions)
        saved_values = dict(self.doc.value_positions)
        self.stack.add(id(source))
        try:
            merged = self.build_mapping(source, path)
        finally:
            self.stack.discard(id(source))
        # An explicit key keeps its own position; the merged ones point at the anchor.
        self.doc.key_positions.update(saved_keys)
        self.doc.value_positions.update(saved_values)
        return merged


class _TooLarge(Exception):
    def __init__(self, node: Node):
        self.node = node


def _describe(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None)
    context = getattr(exc, "context", None)
    parts = [p for p in (context, problem) if p]
    return "; ".join(parts) if parts else str(exc).splitlines()[0]


def load_located(text: str, filename: str) -> tuple[LocatedDocument, list[Problem]]:
    """Parse one YAML document, returning it with positions and any problems.

    Never raises for malformed input: every failure becomes a located
    :class:`~sdt_survey.errors.Problem` and ``data`` is ``None`` when nothing
    usable could be read.
    """
    doc = LocatedDocument(filename, None)
    problems: list[Problem] = []

    def located(line: int | None, column: int | None, message: str) -> Problem:
        """A problem of the document as a whole (no field path), at a line and column when known."""
        return Problem(filename, line, column, "", message)

    # PyYAML stops at the first control character without a line; find them all, located.
    for line, column, character in control_characters(text):
        problems.append(
            located(
                line,
                column,
                f"the control character {character} is not allowed in YAML; remove it "
                "(editors often show it as nothing at all, or as ^@, ^G, ...)",
            )
        )
    if problems:
        return doc, problems
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:
        before = text[: exc.position]
        line, column = before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1
        problems.append(
            located(line, column, f"YAML cannot hold the character {describe_character(chr(exc.character))}")
        )
        return doc, problems
    try:
        node = loader.get_single_node()
        if node is None:
            problems.append(located(1, 1, "the file is empty"))
            return doc, problems
        doc.data = _Builder(loader, doc, problems).build(node, ())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        problems.append(located(line, column, f"YAML syntax error: {_describe(exc)}"))
        doc.data = None
    except yaml.YAMLError as exc:
        problems.append(located(None, None, f"YAML error: {_describe(exc)}"))
        doc.data = None
    except _TooLarge as exc:
        line, column = _mark(exc.node)
        problems.append(
            located(
                line,
                column,
                "the document expands to too many values "
                f"(more than {MAX_NODES}); check for aliases that repeat large blocks",
            )
        )
        doc.data = None
    except RecursionError:
        problems.append(located(None, None, "the document is nested too deeply"))
        doc.data = None
    finally:
        loader.dispose()
    return doc, problems


def read_yaml_mapping(path: str | Path, what: str) -> LocatedDocument:
    """Read a small YAML side file (a mapping, norms, texts) that must be a mapping.

    Raises :class:`~sdt_survey.errors.SdtSurveyError` naming the file (and the
    line and column) when it cannot be read, does not parse, or is not a mapping.
    """
    from ..errors import SdtSurveyError

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise SdtSurveyError(f"{path}: cannot read the {what}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise SdtSurveyError(f"{path}: the {what} is not UTF-8 text") from exc
    doc, problems = load_located(text, str(path))
    if problems:
        raise SdtSurveyError("\n".join(str(p) for p in problems))
    if not isinstance(doc.data, dict):
        raise SdtSurveyError(f"{path}:1:1: the {what} must be a mapping")
    return doc
