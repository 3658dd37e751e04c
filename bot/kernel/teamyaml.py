"""The team file's YAML, read into plain data with every value's line, within fixed bounds.

A team file comes from a person, so every way YAML can surprise is one line naming the
file and the line: a repeated key (both lines), a string holding a NUL or another control
character, a number too long for Python to read, a tag no safe loader knows. Aliases are
expanded into copies, so the composer counts nodes as it goes, an alias counting as
everything it repeats: nine levels of nine-fold aliases (387 million nodes in a few hundred
bytes) are refused after a few dozen events instead of filling memory. The limits are
documented in ``docs/team-file.md``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.resolver import Resolver

Path_ = tuple[str | int, ...]

MAX_NODES = 100_000
"""Most YAML nodes a team file may stand for, aliases counted as what they repeat.

A 1,000-member team with ten stand-ups (accounts and hours for each) is about 16,000 nodes; the demo team 131."""
MAX_DEPTH = 50
"""Deepest nesting of lists and mappings; the deepest section a team file has is six levels."""

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""Control characters a team-file string may not hold (tab and newline are text)."""


class YamlProblems(ValueError):
    """Every problem found while reading, each ``(line, reason)``; the loader adds the file name."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        super().__init__("; ".join(reason for _line, reason in problems))
        self.problems = problems


class _Refused(yaml.MarkedYAMLError):
    """A bound was passed while composing; ``problem`` is the whole reason."""


_Parser: Any
try:
    from yaml._yaml import CParser as _Parser
except ImportError:  # PyYAML built without libyaml
    _Parser = None
_OFFSETS_IN_BYTES = _Parser is not None
"""libyaml reports a bad character's position in the UTF-8 bytes it was given; PyYAML's reader in characters."""
if _Parser is None:  # pure-Python PyYAML: the same events, more slowly
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _PyParser(Reader, Scanner, Parser):
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)

    _Parser = _PyParser


class _BoundedComposer(Composer):
    """PyYAML's composer, counting nodes (an alias as the size of what it names) and depth as it goes."""

    check_event: Callable[..., bool]  # the parser's, mixed in beside this class
    peek_event: Callable[[], Any]

    def __init__(self) -> None:
        super().__init__()
        self.total = 0
        self.depth = 0
        self.sizes: dict[str, int] = {}
        """Expanded size of each anchored node composed so far, by anchor."""

    def _add(self, count: int, mark: Any) -> None:
        self.total += count
        if self.total > MAX_NODES:
            raise _Refused(problem=f"the file stands for more than {MAX_NODES:,} YAML nodes (aliases count as "
                                   "everything they repeat); Meridian reads team files up to that size",
                           problem_mark=mark)

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(AliasEvent):
            event = self.peek_event()
            if event.anchor in self.anchors:
                if event.anchor not in self.sizes:
                    raise _Refused(problem=f"alias *{event.anchor} is used inside the node it names, which "
                                           "would repeat forever", problem_mark=event.start_mark)
                self._add(self.sizes[event.anchor], event.start_mark)
            return super().compose_node(parent, index)
        event = self.peek_event()
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _Refused(problem=f"lists and mappings are nested more than {MAX_DEPTH} deep",
                           problem_mark=event.start_mark)
        before = self.total
        self._add(1, event.start_mark)
        node = super().compose_node(parent, index)
        if event.anchor is not None:
            self.sizes[event.anchor] = self.total - before
        self.depth -= 1
        return node

    def compose_document(self) -> Any:
        node = super().compose_document()
        self.sizes = {}
        return node


class BoundedLoader(_BoundedComposer, _Parser, SafeConstructor, Resolver):  # type: ignore[misc, valid-type]
    """libyaml's parser (when PyYAML has it) under the bounded composer, with the safe scalar types."""

    def __init__(self, stream: str) -> None:
        _Parser.__init__(self, stream)
        _BoundedComposer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)


def _line_of(err: yaml.YAMLError, text: str) -> int:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    if mark is not None:
        return int(mark.line) + 1
    position = getattr(err, "position", None)  # a ReaderError: an offset into what the parser was given
    if isinstance(position, int):
        if _OFFSETS_IN_BYTES:
            return text.encode("utf-8", "surrogatepass")[:position].count(b"\n") + 1
        return text[:position].count("\n") + 1
    return 1


def _reason(err: yaml.YAMLError) -> str:
    if isinstance(err, _Refused):
        return str(err.problem)
    if isinstance(err, yaml.reader.ReaderError):
        char = err.character
        code = char if isinstance(char, int) else ord(char) if isinstance(char, str) and char else 0
        return f"not valid YAML: the character U+{code:04X} is not allowed in a YAML file"
    problem = getattr(err, "problem", None) or getattr(err, "context", None) or str(err)
    return f"not valid YAML: {' '.join(str(problem).split())}"


def read_yaml(text: str) -> tuple[Any, dict[Path_, int]]:
    """Plain data and the line of every value, or ``YamlProblems`` naming each mistake's line."""
    try:
        root = yaml.compose(text, Loader=BoundedLoader)
    except yaml.YAMLError as err:
        raise YamlProblems([(_line_of(err, text), _reason(err))]) from None
    except RecursionError:  # the depth bound stops this first; kept for a PyYAML without libyaml
        raise YamlProblems([(1, f"lists and mappings are nested more than {MAX_DEPTH} deep")]) from None
    lines: dict[Path_, int] = {}
    if root is None:
        return {}, lines
    problems: dict[tuple[int, str], None] = {}  # ordered, and an aliased mistake is reported once
    data = _convert(root, (), lines, problems)
    if problems:
        raise YamlProblems(list(problems))
    return data, lines


def _convert(node: yaml.Node, path: Path_, lines: dict[Path_, int], problems: dict[tuple[int, str], None]) -> Any:
    """Nodes to plain data, remembering each value's line. Scalars resolve as YAML 1.1 safe types."""
    line = node.start_mark.line + 1
    lines[path] = line
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        first: dict[str, yaml.Node] = {}
        for k, v in node.value:
            if not isinstance(k, yaml.ScalarNode):
                problems[(k.start_mark.line + 1, "a key must be plain text, not a list or a mapping")] = None
                continue
            key = str(k.value)
            _check_text(key, k, problems)
            if key in first:
                problems[(k.start_mark.line + 1, _duplicate(key, first[key], k))] = None
                continue
            first[key] = k
            lines[(*path, key)] = k.start_mark.line + 1
            out[key] = _convert(v, (*path, key), lines, problems)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(v, (*path, i), lines, problems) for i, v in enumerate(node.value)]
    value = _resolve_scalar(node, problems)
    if isinstance(value, str):
        _check_text(value, node, problems)
    return value


def _duplicate(key: str, first: yaml.Node, again: yaml.Node) -> str:
    a, b = first.start_mark, again.start_mark
    where = (f"line {a.line + 1}, column {a.column + 1}, and again at column {b.column + 1}" if a.line == b.line
             else f"lines {a.line + 1} and {b.line + 1}")
    return f"key `{_shown(key)}` is given twice in one mapping ({where}); give it once"


def _shown(text: str) -> str:
    """Text for an error line: control characters escaped, long values cut."""
    escaped = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text).replace("\n", "\\n").replace("`", "'")
    return escaped if len(escaped) <= 40 else escaped[:37] + "..."


def _check_text(text: str, node: yaml.Node, problems: dict[tuple[int, str], None]) -> None:
    found = _CONTROL.search(text)
    if found:
        problems[(node.start_mark.line + 1, f"`{_shown(text)}` holds the control character "
                                            f"U+{ord(found.group()):04X}; write plain text")] = None


_SCALAR_CONSTRUCTOR = SafeConstructor()
_KINDS = {"timestamp": "date", "int": "number", "float": "number", "binary": "base64 value", "bool": "boolean"}
_INT_DIGITS = getattr(sys, "get_int_max_str_digits", lambda: 0)()


def _resolve_scalar(node: yaml.Node, problems: dict[tuple[int, str], None]) -> Any:
    # YAML 1.1 reads an unquoted 09:30 as a base-60 integer; people mean a time of day.
    if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":int") and ":" in str(node.value):
        return str(node.value)
    try:
        return _SCALAR_CONSTRUCTOR.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as err:
        line = node.start_mark.line + 1
        text = str(node.value)
        digits = sum(c.isdigit() for c in text)
        if node.tag.endswith((":int", ":float")) and _INT_DIGITS and digits > _INT_DIGITS:
            problems[(line, f"a number of {digits:,} digits is longer than Meridian reads "
                            f"(at most {_INT_DIGITS:,}); quote it if it is text")] = None
        elif isinstance(err, yaml.YAMLError):
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            problems[(line, f"the tag `{_shown(tag)}` is not one Meridian reads; write a plain value")] = None
        else:
            kind = _KINDS.get(node.tag.rsplit(":", 1)[-1], "value")
            problems[(line, f"`{_shown(text)}` is not a valid {kind}: {_shown(str(err))}")] = None
        return None
