"""One error type for everything a user can get wrong.

Every refusal or failure in any stage becomes a :class:`GradtraceError`, so the
API can answer with a 400 that names the line and column instead of a 500.
Messages are looked up in :mod:`gradtrace.core.messages` by ``code`` so that the
same error reads in Korean or English.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

ErrorType = Literal["syntax", "not_allowed", "limit", "runtime"]
LANGS = ("en", "ko")


@dataclass(frozen=True, slots=True)
class Span:
    """A range of the user's text: 1-based line, 1-based character column.

    ``end_col`` is one past the last character, so ``col == end_col`` is empty.
    Columns count characters, not UTF-8 bytes (ast's ``col_offset`` counts bytes).
    """

    line: int
    col: int
    end_line: int
    end_col: int

    def to_dict(self) -> dict[str, int]:
        return {"line": self.line, "col": self.col, "end_line": self.end_line, "end_col": self.end_col}


@dataclass(eq=False)
class GradtraceError(Exception):
    """A problem with the user's program, reportable in the user's language.

    ``code`` is a stable key (``"name_not_allowed"``, ``"mixed_devices"``...) into
    the message catalog; ``params`` fill its placeholders; ``detail`` keeps the raw
    text of an underlying torch error, untranslated.
    """

    type: ErrorType
    code: str
    params: dict[str, Any] = field(default_factory=dict)
    span: Span | None = None
    detail: str | None = None

    def __post_init__(self) -> None:
        Exception.__init__(self, self.message("en"))

    def message(self, lang: str = "en") -> str:
        from gradtrace.core.messages import render_message

        return render_message(self.code, self.params, lang, self.detail)

    def hint(self, lang: str = "en") -> str | None:
        from gradtrace.core.messages import render_hint

        return render_hint(self.code, self.params, lang)

    def with_span(self, span: Span | None) -> GradtraceError:
        """Attach a location if the error has none yet (inner stages may not know it)."""
        if self.span is None and span is not None:
            self.span = span
        return self

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        span = self.span
        return {
            "type": self.type,
            "code": self.code,
            "message": self.message(lang),
            "hint": self.hint(lang),
            "line": span.line if span else None,
            "col": span.col if span else None,
            "end_line": span.end_line if span else None,
            "end_col": span.end_col if span else None,
            "detail": self.detail,
            # What filled the message, as data: numbers stay numbers, anything else its short text.
            "params": {str(k): _param(v) for k, v in self.params.items()},
            "lang": lang,
            # Both languages' text, like a note's message: a client switches language without asking again.
            "messages": {
                other: {"message": self.message(other), "hint": self.hint(other)} for other in ("en", "ko")
            },
        }


def _param(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int)) or (isinstance(value, float) and math.isfinite(value)):
        return value
    text = str(value)
    return text if len(text) <= 200 else text[:199] + "…"
