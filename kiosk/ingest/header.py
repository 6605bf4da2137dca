"""A story file's header: YAML between `---` lines, TOML between `+++` lines, or plain
`Key: value` lines up to the first blank line, for people who have never seen YAML.

Every mistake becomes a sentence that names the line and what to write instead; values that no
file name or SQLite column can hold (NULs, lone surrogates) are made harmless here.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..model import HEADER_KEYS

_ALIASES = {"company": "organization", "organisation": "organization"}
_FIELD_RE = re.compile(r"([A-Za-z][A-Za-z0-9 _-]{0,39}?)[ \t]*:(?!//)[ \t]*(.*)")
_SIMPLE_KEY_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_UNSTORABLE_RE = re.compile("[\0\ud800-\udfff]")
_TOML_AT_RE = re.compile(r"(.*) \(at line (\d+), column \d+\)")
# Word and Pages type these where the person meant a space or nothing: non-breaking and narrow
# spaces become spaces; soft hyphens, zero-width spaces and joiners, and stray BOMs go.
_INVISIBLE = str.maketrans(
    dict.fromkeys("\u00a0\u2007\u202f\u2002\u2003\u2009", " ")
    | dict.fromkeys("\u00ad\u200b\u200c\u200d\u2060\ufeff", None)
)
# `quote: “Safety first: always”`: Word's "smart" quotes around a whole YAML or TOML value
# were meant as quotes; YAML reads them as text (and trips on the colon), TOML refuses them.
_SMART_QUOTED_RE = re.compile(r"([^\s:=#][^:=]*?[ \t]*[:=][ \t]+)[“”„‘’‚«](.*)[“”‘’»][ \t]*")


@dataclass
class Header:
    """What a header said: fields by name, the body after it, and problems found reading it."""

    fields: dict[str, Any]
    body: str
    problems: list[str] = field(default_factory=list)


class _NoAliasLoader(yaml.SafeLoader):
    """YAML aliases let 64 KB expand to gigabytes ("billion laughs"); no story needs them."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(None, None, "`*` cannot start a value", mark)
        return super().compose_node(parent, index)


def field_key(raw: Any) -> str:
    """`Organisation`, `photo-alt` -> `organization`, `photo_alt`."""
    key = re.sub(r"[\s-]+", "_", str(raw).strip().lower())
    return _ALIASES.get(key, key)


def parse_header(text: str, label: str) -> Header:
    """The header's fields (keys folded to field names) and the story body after it."""
    lines = text.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    opening = _tidy(lines[first]).strip() if first < len(lines) else ""
    if opening in ("---", "+++"):
        return _parse_fenced(lines, first, opening, label)
    match = _FIELD_RE.fullmatch(_tidy(lines[first])) if opening else None
    if match and (field_key(match[1]) in HEADER_KEYS or _SIMPLE_KEY_RE.fullmatch(match[1])):
        return _parse_plain(lines, first)
    return Header({}, "\n".join(lines[first:]))


def _tidy(line: str) -> str:
    """A header line as the person meant it (see _INVISIBLE); story bodies are left alone."""
    return line.translate(_INVISIBLE)


def _straight_quoted(line: str) -> str:
    """`key: “value”` -> `key: "value"`, escaped as JSON, which YAML and TOML both read."""
    match = _SMART_QUOTED_RE.fullmatch(line)
    if not match:
        return line
    return match[1] + json.dumps(match[2], ensure_ascii=False)


def _parse_plain(lines: list[str], first: int) -> Header:
    """`Key: value` lines up to the first blank line, for people who have never seen YAML."""
    fields: dict[str, Any] = {}
    last = ""
    i = first
    while i < len(lines):
        line = _tidy(lines[i])
        i += 1
        if not line.strip():
            break
        match = _FIELD_RE.fullmatch(line)
        if last and line[0].isspace():  # a long value wrapped onto the next line
            fields[last] = f"{fields[last]} {line.strip()}".strip()
        elif match:
            last = field_key(match[1])
            fields[last] = match[2].strip()
        else:  # the blank line was forgotten: the story starts here
            i -= 1
            break
    return Header(fields, "\n".join(lines[i:]))


def _parse_fenced(lines: list[str], first: int, fence: str, label: str) -> Header:
    close = next((i for i in range(first + 1, len(lines)) if lines[i].strip() == fence), None)
    if close is None:
        return Header(
            {},
            "",
            [
                f"{label}: the header that starts with {fence} on line {first + 1} is never "
                f"closed; add a line with just {fence} after the last field"
            ],
        )
    block = "\n".join(_straight_quoted(_tidy(line)) for line in lines[first + 1 : close])
    body = "\n".join(lines[close + 1 :])
    load = _load_yaml if fence == "---" else _load_toml
    data, problem = load(block, first + 2, label)
    if problem:
        return Header({}, body, [problem])
    return Header({field_key(k): _storable(v) for k, v in data.items()}, body)


def _storable(value: Any) -> Any:
    """`value` with NULs and lone surrogates (YAML "\\0", "\\ud800") made U+FFFD: no file has
    such a name and SQLite cannot store them, so they must not reach either."""
    if isinstance(value, str):
        return _UNSTORABLE_RE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_storable(v) for v in value]
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    return value


def _too_deep(label: str) -> str:
    return f"{label}: the header is nested too deeply to read; keep to simple `key: value` lines"


def _load_yaml(block: str, first_line: int, label: str) -> tuple[dict[Any, Any], str]:
    try:
        data = yaml.load(block, Loader=_NoAliasLoader)  # a SafeLoader without aliases
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" on line {first_line + mark.line}" if mark else ""
        return {}, (
            f"{label}: the header has a mistake{where} ({exc.problem or exc.context}); "
            "check the colon and the quotes on that line — a value that contains a colon "
            'needs quotes around it, like quote: "Safety first: always"'
        )
    except yaml.YAMLError as exc:
        return {}, f"{label}: the header could not be read ({exc}); write it as `key: value` lines"
    except ValueError as exc:  # PyYAML's answer to an impossible date such as 2026-13-01
        return {}, (
            f"{label}: the header has a date that does not exist ({exc}); "
            "write dates as YYYY-MM-DD, for example 2026-12-01"
        )
    except RecursionError:
        return {}, _too_deep(label)
    if data is None:
        return {}, ""
    if not isinstance(data, dict):
        return {}, (
            f"{label}: the header between the --- lines should be `key: value` lines, "
            "like name: Babette Ruiz"
        )
    return data, ""


def _load_toml(block: str, first_line: int, label: str) -> tuple[dict[Any, Any], str]:
    try:
        return tomllib.loads(block), ""
    except RecursionError:
        return {}, _too_deep(label)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_AT_RE.fullmatch(message)
        if match:
            message = f"{match[1]} on line {first_line + int(match[2]) - 1}"
        return {}, (
            f"{label}: the header between the +++ lines has a mistake ({message}); "
            'TOML needs quotes around text, like name = "Babette Ruiz"'
        )
    except ValueError:  # Python refuses integers of more than 4,300 digits
        return {}, (
            f"{label}: the header has a number too long to read; "
            'put quotes around it, like photo = "2026.jpg"'
        )
