"""Text a Word document can hold: what every value written into a .docx passes through."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# Control characters XML 1.0 cannot hold (tab and line feed can; docxtpl turns them into tabs
# and line breaks). docxtpl would also turn \a and \f into paragraphs and page breaks.
_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_safe(value: Any) -> Any:
    """`value` (and every string in it) without characters XML cannot hold."""
    if isinstance(value, str):
        return _NOT_IN_XML.sub(" ", value)
    if isinstance(value, Mapping):
        return {k: xml_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [xml_safe(v) for v in value]
    return value
