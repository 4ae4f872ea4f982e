"""The message catalog: every error code in English and Korean.

Messages are ``str.format`` templates filled with the error's params by our own
code (never by user text: user-controlled values are only ever *arguments*).
A ``hint`` says what to do about it, in the words of the PyTorch course.
"""

from __future__ import annotations

from typing import Any

from gradtrace.core.python_texts import python_text

# Keys: "en", "ko" (the message) and optionally "hint_en", "hint_ko".
Entry = dict[str, str]


CATALOG: dict[str, Entry] = {
    "internal": {
        "en": "Something went wrong inside gradtrace while running this program.",
        "ko": "프로그램을 실행하는 중 gradtrace 내부에서 문제가 생겼습니다.",
        "hint_en": "Try a smaller program; if it keeps happening, report it with the program text.",
        "hint_ko": "더 작은 프로그램으로 시도해 보세요. 계속되면 프로그램 코드와 함께 알려 주세요.",
    },
}


def register(entries: dict[str, Entry]) -> None:
    """Let each stage contribute the messages of the errors it raises."""
    for code, entry in entries.items():
        if code in CATALOG and CATALOG[code] != entry:
            raise ValueError(f"message code {code!r} registered twice with different text")
        CATALOG[code] = entry


class _Safe(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _fill(template: str, params: dict[str, Any]) -> str:
    """Fill our own template; a template that does not format is shown as written."""
    try:
        return template.format_map(_Safe({k: _short(v) for k, v in params.items()}))
    except (ValueError, IndexError, AttributeError, TypeError):
        return template


def _short(value: Any, limit: int = 200) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _lang(lang: str) -> str:
    return "ko" if lang.lower().startswith("ko") else "en"


def render_message(code: str, params: dict[str, Any], lang: str, detail: str | None) -> str:
    entry = CATALOG.get(code)
    if entry is None:
        return _short(detail or code, 2000)
    template = entry.get(_lang(lang)) or entry.get("en") or code
    if "reason" in params and isinstance(params["reason"], str):  # Python's own words, e.g. a SyntaxError's
        params = {**params, "reason": python_text(params["reason"], _lang(lang))}
    return _fill(template, params)


def render_hint(code: str, params: dict[str, Any], lang: str) -> str | None:
    entry = CATALOG.get(code)
    if entry is None:
        return None
    template = entry.get(f"hint_{_lang(lang)}") or entry.get("hint_en")
    return _fill(template, params) if template else None
