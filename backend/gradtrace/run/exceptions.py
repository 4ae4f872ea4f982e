"""Which errors a program's ``try`` may catch, and as which Python exception.

A program catches what it raised and the runtime errors of its own code: torch's
(as ``RuntimeError``) and Python's (``TypeError``, ``KeyError``…). It never catches
the sandbox's refusals or limits, nor an internal failure: those end the run.
The exception object it gets is a fresh one, with the message only: no traceback,
no frames, no chained host exceptions.
"""

from __future__ import annotations

import builtins
from typing import Any

from gradtrace.core.errors import GradtraceError
from gradtrace.run.classes import EXCEPTION_BASES

_BY_NAME: dict[str, type[Exception]] = {cls.__name__: cls for cls in EXCEPTION_BASES}  # type: ignore[misc]
_BY_CODE: dict[str, type[Exception]] = {
    "name_undefined": NameError,
    "not_iterable": TypeError,
    "unpack_mismatch": ValueError,
}
_PYTHON_KINDS = {"UnboundLocalError": NameError}


def catchable(error: GradtraceError) -> bool:
    return error.type == "runtime" and error.code != "internal"


def program_exception(error: GradtraceError) -> Exception:
    """The exception a program's ``except`` receives for one of its runtime errors."""
    message = error.detail or error.message("en")
    if error.code == "python_error":
        kind = str(error.params.get("kind", ""))
        cls = _BY_NAME.get(kind) or _PYTHON_KINDS.get(kind) or _builtin_exception(kind) or RuntimeError
        detail = str(error.params.get("detail", message))
        return cls(detail)
    return _BY_CODE.get(error.code, RuntimeError)(message)


def _builtin_exception(kind: str) -> type[Exception] | None:
    found = getattr(builtins, kind, None)
    if isinstance(found, type) and issubclass(found, Exception):
        return found
    return None


def exception_class(spec: Any) -> type:
    """What an ``except`` clause names: a builtin exception (``ValueError``), a program one."""
    cls = spec if isinstance(spec, type) else getattr(spec, "cls", None)
    if isinstance(cls, type) and issubclass(cls, BaseException):
        return Exception if cls is BaseException else cls
    raise GradtraceError(
        "runtime",
        "python_error",
        {"kind": "TypeError", "detail": "catching classes that do not inherit from Exception is not allowed"},
    )
