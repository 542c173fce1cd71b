"""Sections that other commands own inside one Markdown report (BENCHMARKS.md).

The benchmark writes the report's body; another command (the TinyNAS evidence,
`python -m benchmarks.tinynas_evidence`) writes its own section between two HTML comments. Each writer replaces
only what it owns: `put_section` replaces (or appends) one named section, and `write_keeping_sections` rewrites
the body while carrying every section of the file it overwrites over to the new text."""
from __future__ import annotations

import re
from pathlib import Path

_START = "<!-- section {name} (written by `{command}`; edits inside are overwritten) -->"
_END = "<!-- end of section {name} -->"
_PATTERN = re.compile(r"<!-- section (?P<name>[\w.-]+) \(written by .*?\) -->\n.*?<!-- end of section (?P=name) -->\n?",
                      re.S)
_NAME = re.compile(r"[\w.-]+")


def sections(text: str) -> dict[str, str]:
    """{name: the whole marked block, markers included} for every section of `text`, in order."""
    return {m["name"]: m.group(0).rstrip("\n") + "\n" for m in _PATTERN.finditer(text)}


def strip_sections(text: str) -> str:
    return _PATTERN.sub("", text)


def render_section(name: str, body: str, command: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError(f"a section name is letters, digits, '_', '.' or '-', got {name!r}")
    return f"{_START.format(name=name, command=command)}\n{body.rstrip()}\n{_END.format(name=name)}\n"


def put_section(path, name: str, body: str, command: str) -> str:
    """Write `body` as section `name` of the Markdown file at `path` (created when missing): the section is
    replaced where it stands, or appended after the rest. Returns the file's new text."""
    path = Path(path)
    text = path.read_text() if path.exists() else ""
    block = render_section(name, body, command)
    old = sections(text).get(name)
    if old is not None:
        text = text.replace(old, block, 1)
    else:
        text = (text.rstrip("\n") + "\n\n" if text.strip() else "") + block
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return text


def write_keeping_sections(path, body: str) -> str:
    """Write `body` to `path`, followed by the sections the file held before (so that regenerating the
    benchmark keeps the TinyNAS evidence). Returns the text written."""
    path = Path(path)
    kept = sections(path.read_text()) if path.exists() else {}
    text = strip_sections(body).rstrip("\n") + "\n"
    for block in kept.values():
        text += "\n" + block
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return text
