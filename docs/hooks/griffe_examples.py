"""Griffe extension for the API pages: read a docstring's `Example:` section as `Examples:`.

The package's docstrings title their runnable examples `Example:` (Google style allows both); griffe's Google
parser knows only `Examples:` and would render the `>>>` lines as nested quotes instead of code.
"""

from __future__ import annotations

import re

import griffe

_EXAMPLE_TITLE = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)


class ExampleSections(griffe.Extension):
    def on_object(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _EXAMPLE_TITLE.sub(r"\1Examples:", obj.docstring.value)
