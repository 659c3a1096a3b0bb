"""A strict YAML reader for workspace files.

PyYAML's loaders silently keep the last of two duplicate keys, expand aliases
(the "billion laughs" bomb) and turn ``no``, ``010`` or ``12.10`` into a boolean
or a number. This reader walks PyYAML's event stream instead and builds a small
tree of its own in which every scalar keeps its raw text, its line and the type
YAML 1.1 would have given it, so each field's rule decides what the text means.

Anchors, aliases, tags, several documents, deep nesting and too many values are
rejected before anything is built from them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field

import yaml

from workspaces.contract.findings import Finding, error

MAX_DEPTH = 8
MAX_VALUES = 500

# PyYAML's C parser is about ten times faster; the pure-Python one gives the same events.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RESOLVER = yaml.resolver.Resolver()
_TAG_TYPES = {
    "tag:yaml.org,2002:bool": "bool",
    "tag:yaml.org,2002:int": "int",
    "tag:yaml.org,2002:float": "float",
    "tag:yaml.org,2002:null": "null",
    "tag:yaml.org,2002:timestamp": "timestamp",
}
# YAML 1.2 core schema forms that PyYAML's YAML 1.1 resolver leaves as text but
# other tools read as numbers: 1e3, 0o17, .5e1.
_YAML12_NUMBER = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$|^0o[0-7]+$")


@dataclass
class Scalar:
    text: str
    line: int
    plain: bool  # written without quotes
    yaml_type: str = "str"  # "str", "bool", "int", "float", "null" or "timestamp", as YAML 1.1 reads it


@dataclass
class Mapping:
    line: int
    items: dict[str, tuple[int, Node]] = dataclass_field(default_factory=dict)  # key -> (key line, value)


@dataclass
class Sequence:
    line: int
    items: list[Node] = dataclass_field(default_factory=list)


Node = Scalar | Mapping | Sequence


@dataclass
class ParsedYaml:
    root: Node | None
    findings: list[Finding]

    @property
    def fatal(self) -> bool:
        """True when the document could not be read at all."""
        return self.root is None and any(finding.is_error for finding in self.findings)


class _Stop(Exception):
    def __init__(self, finding: Finding):
        self.finding = finding


_DISCARD = object()


def parse_yaml(text: str) -> ParsedYaml:
    """Read one YAML document strictly; return the tree (None when empty or unreadable) and findings."""
    findings: list[Finding] = []
    loader = _Loader(text)
    try:
        root = _build(loader, findings)
    except _Stop as stop:
        findings.append(stop.finding)
        return ParsedYaml(None, findings)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "invalid YAML"
        findings.append(error("yaml.syntax", line=line, problem=problem))
        return ParsedYaml(None, findings)
    except yaml.YAMLError as exc:
        findings.append(error("yaml.syntax", line=1, problem=str(exc).splitlines()[0]))
        return ParsedYaml(None, findings)
    finally:
        loader.dispose()
    return ParsedYaml(root, findings)


def _build(loader, findings: list[Finding]) -> Node | None:
    root: Node | None = None
    # Each open collection as [node, the key waiting for its value (mappings only), dotted path].
    stack: list[list] = []
    documents = 0
    values = 0

    while loader.check_event():
        event = loader.get_event()
        line = event.start_mark.line + 1

        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise _Stop(error("yaml.multiple-documents", line=line))
            continue
        if isinstance(event, yaml.AliasEvent):
            raise _Stop(error("yaml.anchor", line=line))
        if isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            node = stack.pop()[0]
            if not stack:
                root = node
            continue
        if not isinstance(event, yaml.NodeEvent):
            continue  # stream start and end, document end

        if event.anchor is not None:
            raise _Stop(error("yaml.anchor", line=line))
        if event.tag is not None:
            raise _Stop(error("yaml.tag", line=line, tag=event.tag))
        values += 1
        if values > MAX_VALUES:
            raise _Stop(error("yaml.too-many-values", line=line, limit=MAX_VALUES))

        if isinstance(event, yaml.ScalarEvent):
            node: Node = _scalar(event, line)
            if not stack:
                root = node
            else:
                _attach(stack, node, line, findings)
            continue

        if len(stack) >= MAX_DEPTH:
            raise _Stop(error("yaml.too-deep", line=line, limit=MAX_DEPTH))
        node = Mapping(line) if isinstance(event, yaml.MappingStartEvent) else Sequence(line)
        path = ""
        if stack:
            path = _child_path(stack[-1])
            _attach(stack, node, line, findings)
        stack.append([node, None, path])

    return root


def _scalar(event: yaml.ScalarEvent, line: int) -> Scalar:
    plain = not event.style and event.implicit[0]  # the C parser reports plain style as "", Python as None
    yaml_type = "str"
    if plain:
        tag = _RESOLVER.resolve(yaml.ScalarNode, event.value, (True, False))
        yaml_type = _TAG_TYPES.get(tag, "str")
        if yaml_type == "str" and _YAML12_NUMBER.match(event.value):
            yaml_type = "float"
    return Scalar(event.value, line, plain, yaml_type)


def _child_path(frame: list) -> str:
    parent, pending, path = frame
    if isinstance(parent, Sequence):
        name = f"[{len(parent.items)}]"
        return f"{path}{name}"
    key = pending[0] if isinstance(pending, tuple) else "?"
    return f"{path}.{key}" if path else key


def _attach(stack: list[list], node: Node, line: int, findings: list[Finding]) -> None:
    frame = stack[-1]
    parent = frame[0]
    if isinstance(parent, Sequence):
        parent.items.append(node)
        return

    pending = frame[1]
    if pending is None:
        # This node is a key.
        if not isinstance(node, Scalar):
            raise _Stop(error("key.invalid", line=line))
        if node.text in parent.items:
            first_line = parent.items[node.text][0]
            field = f"{frame[2]}.{node.text}" if frame[2] else node.text
            findings.append(error("key.duplicate", field, None, key=node.text, line=line, first_line=first_line))
            frame[1] = _DISCARD
        else:
            frame[1] = (node.text, line)
        return

    frame[1] = None
    if pending is _DISCARD:
        return
    key, key_line = pending
    parent.items[key] = (key_line, node)
