"""File names as a person can read them, whatever bytes the file system holds.

On Linux a name that is not valid UTF-8 (what unzipping an archive made on Chinese Windows gives: GBK bytes)
arrives as a ``str`` with surrogate escapes (``os.fsdecode``); such a string cannot be written as UTF-8 to a
terminal, JSON, Excel or HTML. :func:`display_name` is the one place that turns a name into text to *show*;
the file itself is always opened by its real name. Masking of personal data in names is a separate step that
composes with this one.
"""

from __future__ import annotations

import os

__all__ = ["display_name"]


def display_name(name: str | os.PathLike[str] | bytes) -> str:
    """``name`` readable: each path component's raw bytes decoded as UTF-8, else as GB18030, else with
    backslash escapes (``\\xcb``). A name that is already clean text comes back unchanged."""
    if isinstance(name, bytes):
        raw = name
    else:
        text = os.fspath(name)
        if isinstance(text, bytes):
            raw = text
        else:
            try:
                raw = os.fsencode(text)
            except UnicodeEncodeError:  # a lone surrogate that no file system gave us
                return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return "/".join(_component(part) for part in raw.split(b"/"))


def _component(raw: bytes) -> str:
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", "backslashreplace")
