"""Which language to answer in: the request's ``lang``, else Accept-Language, else English."""

from __future__ import annotations

SUPPORTED = ("en", "ko")


def pick_lang(explicit: str | None, accept_language: str | None) -> str:
    if explicit in SUPPORTED:
        return explicit
    return from_accept_language(accept_language or "")


def from_accept_language(header: str) -> str:
    """The supported language the browser prefers most (``ko-KR,ko;q=0.9,en;q=0.8`` → ko)."""
    choices: list[tuple[float, int, str]] = []
    for order, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in SUPPORTED:
            continue
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        if quality > 0:
            choices.append((-quality, order, primary))
    return min(choices)[2] if choices else "en"
