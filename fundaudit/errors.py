"""The exception tree and the message catalogue.

Every message a user can see comes from ``catalogue/messages.yaml`` by a stable code, in Chinese
(the default) and English. Exceptions carry the code and its fields, so callers can match on
``err.code`` and render in either language::

    FundauditError                 base of everything fundaudit raises on purpose
    ├── InputError (ValueError)    an input cannot be used as given
    │   ├── UnreadableFileError    the bytes are not what they claim, damaged, encrypted, unsafe
    │   ├── LimitExceededError     the file is larger than the configured limits allow
    │   └── LayoutError            no header, unknown kind, ambiguous columns
    ├── RuleError (ValueError)     a rule pack or parameter is invalid
    └── ConfigError (ValueError)   a command-line or API argument is invalid

Bad *rows* are never exceptions: they go to the rejected-rows ledger with a reason code from the
``reasons`` section of the same catalogue. What a reader noticed about an input (encoding, merged cells,
hidden rows…) is a :class:`Note`, from the ``notes`` section.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from enum import IntEnum
from importlib import resources
from typing import Any, Literal

Lang = Literal["zh", "en"]

__all__ = [
    "ConfigError",
    "ExitCode",
    "FundauditError",
    "InputError",
    "LayoutError",
    "LimitExceededError",
    "Note",
    "ProblemsError",
    "RuleError",
    "UnreadableFileError",
    "catalogue",
    "note",
    "render",
    "render_note",
    "texts",
]


@functools.cache
def catalogue() -> Mapping[str, Mapping[str, Mapping[str, str]]]:
    """The message catalogue as data: ``{"errors": {code: {zh, en}}, "reasons": {...}}``."""
    from ruamel.yaml import YAML

    text = resources.files("fundaudit").joinpath("catalogue/messages.yaml").read_text("utf-8")
    data = YAML(typ="safe", pure=True).load(text)
    return {section: dict(entries) for section, entries in data.items()}


def render(section: str, code: str, lang: Lang = "zh", **fields: Any) -> str:
    """Render catalogue entry ``section.code`` in ``lang``; missing fields show as ``{name}``."""
    entry = catalogue()[section][code]
    return entry[lang].format_map(_Lenient(fields))


def texts(section: str, code: str, **fields: Any) -> tuple[str, str]:
    """``section.code`` rendered in Chinese and in English: the (zh, en) pair a check puts into a finding."""
    return render(section, code, "zh", **fields), render(section, code, "en", **fields)


class Note(str):
    """A reader's note about an input, from the ``notes`` section of the catalogue.

    It *is* its English text (so findings.json, logs, ``in`` and ``==`` see plain English, as before), and
    carries ``code`` and ``fields`` so a report can show it in the user's language with :meth:`render`.
    A field that is itself a ``Note`` (a fragment such as ``delimiter.tabs``) is rendered in the same
    language. Notes pickle and copy as notes.
    """

    code: str
    fields: dict[str, Any]

    def __new__(cls, code: str, fields: Mapping[str, Any] | None = None) -> Note:
        fields = dict(fields or {})
        self = super().__new__(cls, render("notes", code, "en", **fields))
        self.code = code
        self.fields = fields
        return self

    def render(self, lang: Lang = "zh") -> str:
        """The note in ``lang`` (English is the note's own text)."""
        if lang == "en":
            return str(self)
        return render("notes", self.code, lang, **{k: v.render(lang) if isinstance(v, Note) else v
                                                      for k, v in self.fields.items()})

    def __reduce__(self) -> tuple[Any, ...]:
        return (Note, (self.code, self.fields))


def note(code: str, **fields: Any) -> Note:
    """The note ``notes.code`` with its fields: ``note("encoding_utf8")``, ``note("hidden_rows", sheet=…, count=3)``."""
    return Note(code, fields)


def render_note(n: object, lang: Lang = "zh") -> str:
    """``n`` in ``lang`` when it is a :class:`Note`; any other note (a plain string) as its text."""
    return n.render(lang) if isinstance(n, Note) else str(n)


class _Lenient(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class ExitCode(IntEnum):
    """Exit status of the ``fundaudit`` command (CONTRACT.md §3); when several apply, the highest wins."""

    OK = 0           # no finding at or above --fail-on
    FINDINGS = 1     # findings at or above --fail-on
    USAGE = 2        # the audit could not run as asked: bad input, argument or rule pack
    INTERNAL = 3     # a bug: traceback logged in the output directory


class FundauditError(Exception):
    """Base class of every error fundaudit raises deliberately.

    ``code`` names the catalogue entry; ``fields`` fill its template. ``str(err)`` is the Chinese
    message; ``err.message("en")`` the English one.
    """

    section = "errors"

    def __init__(self, code: str, **fields: Any) -> None:
        self.code = code
        self.fields = fields
        super().__init__(self.message("zh"))

    def message(self, lang: Lang = "zh", *, masked: bool = True) -> str:
        """The message in ``lang``, from the catalogue. Unless ``masked`` is False, the personal data it quotes
        (IDs, phones, accounts in cell values, header rows, file and sheet names) is masked (CONTRACT.md §4)."""
        text = self._text(lang)
        if not masked:
            return text
        from fundaudit.masking import mask_text

        return mask_text(text)

    def _text(self, lang: Lang) -> str:
        """The message in ``lang`` as rendered, unmasked."""
        return render(self.section, self.code, lang, **self.fields)


class InputError(FundauditError, ValueError):
    """An input (file, sheet or DataFrame) cannot be used as given."""

    @property
    def file(self) -> str | None:
        """The file the problem is in, when there is one."""
        value = self.fields.get("file")
        return None if value is None else str(value)


class ProblemsError(InputError):
    """A filled-in workbook read back with problems (triage answers, sample results): every problem at once, each
    a catalogue code with its fields (file, sheet, row), listed under the error's own message."""

    def _text(self, lang: Lang) -> str:
        lines = "\n".join(render("errors", code, lang, **fields) for code, fields in self.problems)
        return render(self.section, self.code, lang, **{**self.fields, "problems": lines})

    @property
    def problems(self) -> list[tuple[str, dict[str, Any]]]:
        """(catalogue code, fields) per problem, in file, sheet and row order."""
        value = self.fields.get("problems")
        return list(value) if isinstance(value, list) else []


class UnreadableFileError(InputError):
    """The file's bytes are not a readable ledger: wrong format, damaged, encrypted or unsafe."""


class LimitExceededError(InputError):
    """The file is larger than the configured limits (size, rows, columns, expansion ratio)."""


class LayoutError(InputError):
    """The sheet has no recognisable header, an unknown kind, or ambiguous columns."""


class RuleError(FundauditError, ValueError):
    """A rule pack, rule or parameter is invalid. ``problems`` (when given) lists every problem with
    its file, line, column and key path; they are rendered in the message's language."""

    def _text(self, lang: Lang) -> str:
        """The message in ``lang``, each listed problem rendered in the same language."""
        problems = self.fields.get("problems")
        if isinstance(problems, list):
            text = "\n".join(p.render(lang) if hasattr(p, "render") else str(p) for p in problems)
            return render(self.section, self.code, lang, **{**self.fields, "problems": text})
        return super()._text(lang)

    @property
    def problems(self) -> list[Any]:
        """The located problems (``fundaudit.rules.located.Problem``), if any."""
        value = self.fields.get("problems")
        return list(value) if isinstance(value, list) else []


class ConfigError(FundauditError, ValueError):
    """A command-line or API argument is invalid (period, --ledger, unknown kind…)."""
