"""A small GraphQL executor: enough of the language for the queries the wandb client sends.

The test server answers exactly the fields a query selects (with aliases, fragments and
``__typename``), so the client's validation sees the same shapes the real W&B backend returns.
Objects are :class:`Node` values whose fields are plain values or resolvers taking the field's
arguments. Unknown fields are recorded (and logged loudly) instead of silently answered.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("wandb_server")

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<comment>\#[^\n]*)
      | (?P<spread>\.\.\.)
      | (?P<string>"(?:\\.|[^"\\])*")
      | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
      | (?P<name>[_A-Za-z][_0-9A-Za-z]*)
      | (?P<var>\$[_A-Za-z][_0-9A-Za-z]*)
      | (?P<punct>[{}()\[\]:=!,@])
    )""",
    re.VERBOSE,
)


@dataclass
class Field:
    """One selected field: ``alias: name(args) { selections }``."""

    name: str
    alias: str
    args: dict[str, Any]
    selections: list[Field | Spread]


@dataclass
class Spread:
    """A fragment spread (``...Name``) or inline fragment (``... on Type { }``)."""

    fragment: str | None
    type_condition: str | None
    selections: list[Field | Spread]


@dataclass
class Var:
    """A reference to an operation variable inside an argument value."""

    name: str


@dataclass
class Document:
    """A parsed request: the operation's selections, its name, and the fragments it defines."""

    operation: str
    name: str
    selections: list[Field | Spread]
    fragments: dict[str, tuple[str, list[Field | Spread]]] = field(default_factory=dict)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            if text[pos:].strip() == "":
                break
            raise ValueError(f"GraphQL syntax error at {pos}: {text[pos:pos + 30]!r}")
        pos = m.end()
        kind = m.lastgroup
        if kind is None or kind == "comment":
            continue
        out.append((kind, m.group(kind)))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, value: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (value is not None and tok[1] != value):
            raise ValueError(f"GraphQL syntax error: expected {value!r}, got {tok!r}")
        self.i += 1
        return tok[1]

    def accept(self, value: str) -> bool:
        tok = self.peek()
        if tok is not None and tok[1] == value:
            self.i += 1
            return True
        return False

    def document(self) -> Document:
        doc = Document(operation="query", name="", selections=[])
        while self.peek() is not None:
            tok = self.peek()
            assert tok is not None
            if tok[1] == "fragment":
                self.take()
                name = self.take()
                self.take("on")
                type_name = self.take()
                doc.fragments[name] = (type_name, self.selection_set())
            elif tok[1] == "{":
                doc.selections = self.selection_set()
            else:
                doc.operation = self.take()
                nxt = self.peek()
                if nxt is not None and nxt[0] == "name":
                    doc.name = self.take()
                if self.accept("("):
                    while not self.accept(")"):
                        self.take()  # variable definitions are not needed to execute
                doc.selections = self.selection_set()
        return doc

    def selection_set(self) -> list[Field | Spread]:
        self.take("{")
        out: list[Field | Spread] = []
        while not self.accept("}"):
            if self.accept("..."):
                if self.accept("on"):
                    type_name = self.take()
                    out.append(Spread(None, type_name, self.selection_set()))
                else:
                    out.append(Spread(self.take(), None, []))
                continue
            name = self.take()
            alias = name
            if self.accept(":"):
                name = self.take()
            args: dict[str, Any] = {}
            if self.accept("("):
                while not self.accept(")"):
                    key = self.take()
                    self.take(":")
                    args[key] = self.value()
                    self.accept(",")
            while self.accept("@"):  # directives: ignored
                self.take()
                if self.accept("("):
                    while not self.accept(")"):
                        self.take()
            tok = self.peek()
            sub = self.selection_set() if tok is not None and tok[1] == "{" else []
            out.append(Field(name, alias, args, sub))
            self.accept(",")
        return out

    def value(self) -> Any:
        kind, text = self.peek() or ("", "")
        if kind == "var":
            self.take()
            return Var(text[1:])
        if kind == "string":
            self.take()
            import json

            return json.loads(text)
        if kind == "number":
            self.take()
            return float(text) if any(c in text for c in ".eE") else int(text)
        if text == "[":
            self.take()
            items = []
            while not self.accept("]"):
                items.append(self.value())
                self.accept(",")
            return items
        if text == "{":
            self.take()
            obj = {}
            while not self.accept("}"):
                key = self.take()
                self.take(":")
                obj[key] = self.value()
                self.accept(",")
            return obj
        self.take()
        return {"true": True, "false": False, "null": None}.get(text, text)


def parse(text: str) -> Document:
    """Parse a GraphQL request document."""
    return _Parser(text).document()


def _bind(value: Any, variables: Mapping[str, Any]) -> Any:
    if isinstance(value, Var):
        return variables.get(value.name)
    if isinstance(value, list):
        return [_bind(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: _bind(v, variables) for k, v in value.items()}
    return value


@dataclass
class Node:
    """A typed GraphQL object: field name -> value or ``resolver(**args)``."""

    typename: str
    fields: dict[str, Any]


Resolver = Callable[..., Any]


class Executor:
    """Executes a document against a root :class:`Node`, recording fields it cannot answer."""

    def __init__(self, doc: Document, variables: Mapping[str, Any]) -> None:
        self.doc = doc
        self.variables = variables
        self.unknown: list[str] = []

    def run(self, root: Node) -> dict[str, Any]:
        return self._object(root, self.doc.selections, root.typename)

    def _flatten(self, selections: list[Field | Spread], typename: str) -> list[Field]:
        out: list[Field] = []
        for sel in selections:
            if isinstance(sel, Field):
                out.append(sel)
                continue
            if sel.fragment is not None:
                type_cond, subs = self.doc.fragments[sel.fragment]
            else:
                type_cond, subs = sel.type_condition or typename, sel.selections
            if type_cond == typename or type_cond not in _CONCRETE_TYPES:
                out.extend(self._flatten(subs, typename))
        return out

    def _object(self, node: Node, selections: list[Field | Spread], path: str) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for f in self._flatten(selections, node.typename):
            if f.name == "__typename":
                result[f.alias] = node.typename
                continue
            if f.name not in node.fields:
                self.unknown.append(f"{path}.{f.name}")
                log.warning("wandb test server: unknown field %s.%s (answered null)", path, f.name)
                result[f.alias] = None
                continue
            value = node.fields[f.name]
            if callable(value):
                value = value(**{k: _bind(v, self.variables) for k, v in f.args.items()})
            result[f.alias] = self._value(value, f, f"{path}.{f.name}")
        return result

    def _value(self, value: Any, f: Field, path: str) -> Any:
        if isinstance(value, Node):
            return self._object(value, f.selections, path)
        if isinstance(value, list) and f.selections:
            return [self._value(v, f, path) for v in value]
        return value


#: Type names that appear in type conditions; anything else is treated as an interface that matches.
_CONCRETE_TYPES = {"Run", "Project", "User", "Artifact", "Sweep", "ServerInfo", "Entity"}
