"""``str`` methods, ``str.format`` and ``%``-formatting, each sized before it allocates.

A string is as much a resource as a tensor: ``'x'.center(10**9)``, a chain of
``s.replace('', s)`` or ``','.join(rows)`` would allocate gigabytes in one C call.
Every method here works out the length of its result from its arguments first and
refuses past ``limits.sequence_length``; only then does it call Python's own method
with arguments already converted to plain ``str``/``int`` values.

Formatting is also an access path in Python (``'{0.__class__}'.format(x)`` reads
attributes), so templates are parsed here and only plain fields with the constant
specs of :data:`~gradtrace.sandbox.rules.FORMAT_SPEC` are allowed; the value of a
field is turned into text by a ``render`` callback that the interpreter supplies.
"""

from __future__ import annotations

import itertools
import operator
import string
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import torch

from gradtrace.core.errors import GradtraceError
from gradtrace.run import budget
from gradtrace.run import messages as _messages  # noqa: F401  (python_error's text)
from gradtrace.run.iterators import ListIterator
from gradtrace.sandbox import check_sequence
from gradtrace.sandbox.rules import FORMAT_SPEC

# The same shape as ``methods.Handler`` (not imported: ``methods`` will import this module).
Handler = Callable[[Any, tuple[Any, ...], dict[str, Any]], Any]
# ``render(value, conversion, spec) -> str``: conversion is "", "s" or "r"; spec matches FORMAT_SPEC.
Render = Callable[[Any, str, str], str]
Impl = Callable[..., Any]

_MISSING: Any = object()  # an argument the program did not pass (``None`` can be passed)
_SPECABLE = (str, int, float, bool, torch.Tensor, np.number, np.bool_)
_JOINABLE = (list, tuple, str, dict, set, frozenset, ListIterator)
_CONTAINERS = (list, tuple, dict, set, frozenset)
_ARRAYS = (torch.Tensor, np.ndarray)
_PERCENT_CONVERSIONS = frozenset("srdifFeEgGxXoc")
_MAX_WIDTH_DIGITS = 3  # like FORMAT_SPEC: width <= 999
_MAX_PRECISION_DIGITS = 2  # precision <= 99


# -- errors and argument conversion -------------------------------------------------------------


def python_error(kind: str, detail: str) -> GradtraceError:
    """The error Python itself would raise, typed, so it reads like every other run-time error."""
    return GradtraceError("runtime", "python_error", {"kind": kind, "detail": detail}, detail=detail)


def _type_error(detail: str) -> GradtraceError:
    return python_error("TypeError", detail)


def _refuse(spec: str) -> GradtraceError:
    return GradtraceError("not_allowed", "format_not_allowed", {"spec": spec})


def _check_length(length: int) -> None:
    check_sequence(length, budget.current_limits())


def _python(func: Impl, *args: Any) -> Any:
    """Call Python's own implementation; its errors become typed errors without a Python traceback.

    The error is raised outside the ``except`` block so that it carries no ``__context__``.
    """
    try:
        return func(*args)
    except (TypeError, ValueError, LookupError, OverflowError) as exc:
        error = python_error(type(exc).__name__, str(exc))
    raise error


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise _type_error(f"{what} must be str, not {type(value).__name__}")
    return value


def _optional_text(value: Any, what: str) -> str | None:
    return None if value is None or value is _MISSING else _text(value, what)


def _integer(value: Any, what: str) -> int:
    """A plain ``int`` from anything Python would accept as an index (numpy ints, int tensors)."""
    if isinstance(value, int):
        return int(value)
    try:
        return operator.index(value)
    except TypeError:
        error = _type_error(f"{what}: '{type(value).__name__}' object cannot be interpreted as an integer")
    raise error


def _optional_integer(value: Any, what: str) -> int | None:
    return None if value is None or value is _MISSING else _integer(value, what)


# -- binding the arguments of a method ----------------------------------------------------------


@dataclass(frozen=True)
class _Signature:
    """What Python's own method accepts: positional names, how many are required, keywords or not."""

    name: str
    params: tuple[str, ...] = ()
    required: int = 0
    keywords: bool = False


def _bind(sig: _Signature, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
    """One value per parameter (``_MISSING`` where not passed), with Python's argument errors."""
    if len(args) > len(sig.params):
        raise _type_error(f"{sig.name}() takes at most {len(sig.params)} arguments ({len(args)} given)")
    values = [*args, *[_MISSING] * (len(sig.params) - len(args))]
    for key, value in kwargs.items():
        _bind_keyword(sig, values, key, value)
    for name, value in zip(sig.params[: sig.required], values, strict=False):
        if value is _MISSING:
            raise _type_error(f"{sig.name}() missing required argument '{name}'")
    return values


def _bind_keyword(sig: _Signature, values: list[Any], key: str, value: Any) -> None:
    if not sig.keywords:
        raise _type_error(f"{sig.name}() takes no keyword arguments")
    if key not in sig.params:
        raise _type_error(f"{sig.name}() got an unexpected keyword argument '{key}'")
    position = sig.params.index(key)
    if values[position] is not _MISSING:
        raise _type_error(f"{sig.name}() got multiple values for argument '{key}'")
    values[position] = value


def _method(sig: _Signature, impl: Impl) -> Handler:
    """A handler that binds like Python, then lets ``impl`` size and compute the result."""

    def handler(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if not isinstance(target, str):
            raise _type_error(f"{sig.name}() needs a str, not {type(target).__name__}")
        return impl(target, *_bind(sig, args, kwargs))

    return handler


# -- the methods --------------------------------------------------------------------------------


def _join(text: str, items: Any) -> str:
    """``sep.join(items)``: the items' lengths plus ``len(items) - 1`` separators, summed as they come.

    Generators are finished lists underneath (``ListIterator``), so every joinable value
    has a length; the separators are refused before the items are even looked at.
    """
    if not isinstance(items, _JOINABLE):
        raise _type_error(f"can only join an iterable of str, not {type(items).__name__}")
    limits = budget.current_limits()
    total = len(text) * max(len(items) - 1, 0)
    check_sequence(total, limits)
    pieces: list[str] = []
    for position, item in enumerate(items):
        if not isinstance(item, str):
            raise _type_error(f"sequence item {position}: expected str instance, {type(item).__name__} found")
        total += len(item)
        check_sequence(total, limits)
        pieces.append(item)
    return text.join(pieces)


def _split(name: str) -> Impl:
    """``split``/``rsplit``: the result has one more piece than separators found (at most)."""

    def impl(text: str, sep: Any, maxsplit: Any) -> list[str]:
        separator = _optional_text(sep, f"{name}() separator")
        most = -1 if maxsplit is _MISSING else _integer(maxsplit, f"{name}() maxsplit")
        if separator == "":
            raise python_error("ValueError", "empty separator")
        # Words are separated by at least one character; a separator count is exact.
        pieces = (len(text) + 1) // 2 if separator is None else text.count(separator) + 1
        if most >= 0:
            pieces = min(pieces, most + 1)
        _check_length(pieces)
        most = min(most, len(text)) if most >= 0 else -1  # Python refuses counts past ssize_t
        return list(getattr(text, name)(separator, most))

    return impl


def _splitlines(text: str, keepends: Any) -> list[str]:
    """Every line holds at least one character, so there are at most ``len(text)`` lines."""
    keep = False if keepends is _MISSING else bool(_integer(keepends, "splitlines() keepends"))
    _check_length(len(text))
    return text.splitlines(keep)


def _strip(name: str) -> Impl:
    def impl(text: str, chars: Any) -> str:
        return str(getattr(text, name)(_optional_text(chars, f"{name}() argument")))

    return impl


@lru_cache(maxsize=4096)
def _case_growth(char: str) -> int:
    return max(len(char.upper()), len(char.lower()), len(char.title()))


def _case_size(text: str) -> int:
    """Case mapping can lengthen a string (``'ß'.upper() == 'SS'``, at most 3 characters a character).

    ASCII text keeps its length; other text is bounded by 3x, and counted exactly only
    when that bound is over the limit (so Korean or German text is not refused for nothing).
    """
    if text.isascii():
        return len(text)
    if 3 * len(text) <= budget.current_limits().sequence_length:
        return 3 * len(text)
    return sum(_case_growth(char) for char in text)


def _case(name: str) -> Impl:
    def impl(text: str) -> str:
        _check_length(_case_size(text))
        return str(getattr(text, name)())

    return impl


def _replace(text: str, old: Any, new: Any, count: Any) -> str:
    """Each replacement changes the length by ``len(new) - len(old)``; ``''`` matches ``len + 1`` times."""
    old_text, new_text = _text(old, "replace() argument 1"), _text(new, "replace() argument 2")
    most = -1 if count is _MISSING else _integer(count, "replace() count")
    found = text.count(old_text)
    if most >= 0:
        found = min(found, most)
    _check_length(len(text) + found * (len(new_text) - len(old_text)))
    return text.replace(old_text, new_text, found if most >= 0 else -1)


def _affix(name: str) -> Impl:
    """``startswith``/``endswith``: a bool, but the prefix must be a str or a tuple of str."""

    def impl(text: str, affix: Any, start: Any, end: Any) -> bool:
        if isinstance(affix, tuple):
            for item in affix:
                _text(item, f"{name}() tuple item")
        else:
            _text(affix, f"{name}() first argument")
        bounds = (_optional_integer(start, f"{name}() start"), _optional_integer(end, f"{name}() end"))
        return bool(getattr(text, name)(affix, *bounds))

    return impl


def _search(name: str) -> Impl:
    """``count``/``find``/``index``: an int; ``index`` raises Python's ValueError when not found."""

    def impl(text: str, sub: Any, start: Any, end: Any) -> int:
        needle = _text(sub, f"{name}() argument 1")
        bounds = (_optional_integer(start, f"{name}() start"), _optional_integer(end, f"{name}() end"))
        return int(_python(getattr(text, name), needle, *bounds))

    return impl


def _pad(name: str) -> Impl:
    """``center``/``ljust``/``rjust``: ``max(len, width)`` characters; the width may be any int."""

    def impl(text: str, width: Any, fillchar: Any) -> str:
        size = _integer(width, f"{name}() width")
        fill = " " if fillchar is _MISSING else _text(fillchar, f"{name}() fill character")
        if len(fill) != 1:
            raise _type_error("The fill character must be exactly one character long")
        _check_length(max(len(text), size))
        return str(getattr(text, name)(max(size, 0), fill))

    return impl


def _zfill(text: str, width: Any) -> str:
    size = _integer(width, "zfill() width")
    _check_length(max(len(text), size))
    return text.zfill(max(size, 0))


def _predicate(name: str) -> Impl:
    def impl(text: str) -> bool:
        return bool(getattr(text, name)())

    return impl


def format_method(render: Render) -> Handler:
    """``template.format(...)`` with the caller's way of rendering the program's values."""

    def handler(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        return format_template(target, args, kwargs, render)

    return handler


def _signatures() -> dict[str, tuple[_Signature, Impl]]:
    split_params = ("sep", "maxsplit")
    search = ("sub", "start", "end")
    table: dict[str, tuple[_Signature, Impl]] = {
        "join": (_Signature("join", ("iterable",), 1), _join),
        "split": (_Signature("split", split_params, 0, True), _split("split")),
        "rsplit": (_Signature("rsplit", split_params, 0, True), _split("rsplit")),
        "splitlines": (_Signature("splitlines", ("keepends",), 0, True), _splitlines),
        "replace": (_Signature("replace", ("old", "new", "count"), 2), _replace),
        "zfill": (_Signature("zfill", ("width",), 1), _zfill),
    }
    for name in ("strip", "lstrip", "rstrip"):
        table[name] = (_Signature(name, ("chars",)), _strip(name))
    for name in ("upper", "lower", "title", "capitalize"):
        table[name] = (_Signature(name), _case(name))
    for name in ("isdigit", "isalpha", "isspace"):
        table[name] = (_Signature(name), _predicate(name))
    for name in ("startswith", "endswith"):
        table[name] = (_Signature(name, ("prefix", "start", "end"), 1), _affix(name))
    for name in ("count", "find", "index"):
        table[name] = (_Signature(name, search, 1), _search(name))
    for name in ("center", "ljust", "rjust"):
        table[name] = (_Signature(name, ("width", "fillchar"), 1), _pad(name))
    return table


# -- str.format ---------------------------------------------------------------------------------


class _Output:
    """The pieces of a result, refused as soon as their total passes the limit (not after joining)."""

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.size = 0
        self.limits = budget.current_limits()

    def add(self, piece: str) -> None:
        self.size += len(piece)
        check_sequence(self.size, self.limits)
        self.pieces.append(piece)

    def text(self) -> str:
        return "".join(self.pieces)


class _FormatArguments:
    """Python's field numbering: ``{}`` counts up, ``{0}`` names a position, never both."""

    def __init__(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
        self.args, self.kwargs = args, kwargs
        self.next_auto = 0
        self.numbering = ""  # "", "auto" or "manual"

    def get(self, field: str) -> Any:
        if field and not field.isdigit():
            if field not in self.kwargs:
                raise python_error("KeyError", repr(field))
            return self.kwargs[field]
        index = self._manual(field) if field else self._auto()
        if index >= len(self.args):
            raise python_error(
                "IndexError", f"Replacement index {index} out of range for positional args tuple"
            )
        return self.args[index]

    def _auto(self) -> int:
        if self.numbering == "manual":
            raise python_error(
                "ValueError", "cannot switch from manual field specification to automatic field numbering"
            )
        self.numbering = "auto"
        self.next_auto += 1
        return self.next_auto - 1

    def _manual(self, field: str) -> int:
        if self.numbering == "auto":
            raise python_error(
                "ValueError", "cannot switch from automatic field numbering to manual field specification"
            )
        if len(field) > 18:  # past ssize_t, as Python says
            raise python_error("ValueError", "Too many decimal digits in format string")
        self.numbering = "manual"
        return int(field)


def _field_text(field: str, spec: str, conversion: str | None) -> str:
    return "{" + field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"


def _check_field(field: str, spec: str, conversion: str | None) -> None:
    """Only a plain position or name, ``!r``/``!s``, and a constant spec that FORMAT_SPEC allows.

    ``{0.__class__}`` and ``{0[0]}`` would read attributes and items behind the policy's back;
    a nested ``{:{w}}`` spec would be a width chosen at run time: all refused.
    """
    plain = field == "" or (field.isascii() and field.isdigit()) or field.isidentifier()
    allowed_spec = "{" not in spec and FORMAT_SPEC.fullmatch(spec) is not None
    if not plain or conversion not in (None, "r", "s") or not allowed_spec:
        raise _refuse(_field_text(field, spec, conversion))


def _parse_template(template: str) -> list[tuple[str, str | None, str, str | None]]:
    """Python's own parser (C, linear in the template); its syntax errors become typed errors."""
    parsed: list[tuple[str, str | None, str | None, str | None]] = _python(
        list, string.Formatter().parse(template)
    )
    return [(literal, field, spec or "", conversion) for literal, field, spec, conversion in parsed]


def format_template(template: str, args: tuple[Any, ...], kwargs: Mapping[str, Any], render: Render) -> str:
    """``template.format(*args, **kwargs)``, with each field checked before any value is rendered."""
    if not isinstance(template, str):
        raise _type_error(f"format() needs a str template, not {type(template).__name__}")
    fields = _parse_template(template)
    for _, field, spec, conversion in fields:
        if field is not None:
            _check_field(field, spec, conversion)
    arguments, output = _FormatArguments(args, kwargs), _Output()
    for literal, field, spec, conversion in fields:
        output.add(literal)
        if field is not None:
            value = arguments.get(field)
            output.add(_python(render, value, conversion or "", spec))
    return output.text()


def _members(container: Any) -> Iterable[Any]:
    return itertools.chain(container.keys(), container.values()) if isinstance(container, dict) else container


def _leaf_chars(value: Any) -> int:
    """What one leaf adds to ``str(container)``: a string its text, an array its (summarised) print."""
    if isinstance(value, str):
        return len(value) + 2
    if isinstance(value, _ARRAYS):
        count = value.numel() if isinstance(value, torch.Tensor) else int(value.size)
        return 4 * min(count, 1000) + 10  # torch and numpy summarise past 1000 elements
    return 1


def text_size(value: Any, limit: int) -> int:
    """About how many characters ``str(value)`` has, for nested containers, before building it.

    ``str([s] * n)`` repeats ``s`` n times, so strings weigh their length; each distinct
    container is measured once (``[row] * n`` walks ``row`` once, but counts it n times),
    and a container inside itself prints as ``[...]``, as Python does. Iterative, so a
    deeply nested list cannot exhaust the C stack; refused as soon as one part is too long.
    """
    if not isinstance(value, _CONTAINERS):
        return _leaf_chars(value)
    sizes: dict[int, int] = {}
    pending: set[int] = set()
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        item, children_done = stack.pop()
        key = id(item)
        if key in sizes or (key in pending and not children_done):
            continue  # measured, or an ancestor of itself: ``[...]``
        if not children_done:
            pending.add(key)
            budget.budget().step()
            stack.append((item, True))
            stack.extend((child, False) for child in _members(item) if isinstance(child, _CONTAINERS))
            continue
        sizes[key] = 2 + sum(_child_chars(child, sizes) + 2 for child in _members(item))
        if sizes[key] > limit:
            raise GradtraceError("limit", "sequence_too_long", {"size": sizes[key], "limit": limit})
    return sizes[id(value)]


def _child_chars(child: Any, sizes: dict[int, int]) -> int:
    return sizes.get(id(child), 5) if isinstance(child, _CONTAINERS) else _leaf_chars(child)


def default_render(value: Any, conversion: str, spec: str) -> str:
    """The f-string rule: containers are sized before ``str()``; a spec only on numbers, strings, tensors.

    For plain values only: the interpreter renders the program's own objects (their
    ``__str__``/``__repr__``) with its own ``render``.
    """
    if isinstance(value, _CONTAINERS):
        text_size(value, budget.current_limits().sequence_length)
    if conversion == "r":
        value = repr(value)
    elif conversion == "s":
        value = str(value)
    elif conversion == "a":
        value = ascii(value)
    if spec and not isinstance(value, _SPECABLE):
        raise _refuse(spec)
    return format(value, spec)


# -- %-formatting -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Directive:
    """One ``%(key)-8.3f``: ``spec`` is the directive without its key and conversion, ready for ``%``."""

    key: str | None
    spec: str
    conversion: str


class _PercentArguments:
    """Python's rules for the right operand: a tuple is the arguments, anything else is one argument.

    Mirrors CPython's ``arglen``/``argidx``: a single value is ``length -1, index -2``, and a
    ``%(key)`` directive switches to the mapping (after which positional directives fail).
    """

    def __init__(self, values: Any) -> None:
        self.values = values
        self.mapping = not isinstance(values, tuple | str) and hasattr(type(values), "__getitem__")
        self.length, self.index = (len(values), 0) if isinstance(values, tuple) else (-1, -2)

    def next(self) -> Any:
        if self.index >= self.length:
            raise _type_error("not enough arguments for format string")
        self.index += 1
        return self.values if self.length < 0 else self.values[self.index - 1]

    def keyed(self, key: str) -> Any:
        if not self.mapping:
            raise _type_error("format requires a mapping")
        if not isinstance(self.values, Mapping):
            raise _type_error(f"{type(self.values).__name__} indices must be integers or slices, not str")
        self.length, self.index = -1, -1
        return _python(operator.getitem, self.values, key)  # a defaultdict's factory is a checked call

    def finish(self) -> None:
        if self.index < self.length and not self.mapping:
            raise _type_error("not all arguments converted during string formatting")


def _run_of(template: str, start: int, allowed: str) -> tuple[str, int]:
    end = start
    while end < len(template) and template[end] in allowed:
        end += 1
    return template[start:end], end


def _percent_key(template: str, start: int) -> tuple[str | None, int]:
    """``%(name)s``: the key runs to the matching parenthesis, as in Python."""
    if start >= len(template) or template[start] != "(":
        return None, start
    depth, end = 1, start + 1
    while end < len(template) and depth:
        depth += {"(": 1, ")": -1}.get(template[end], 0)
        end += 1
    if depth:
        raise python_error("ValueError", "incomplete format key")
    return template[start + 1 : end - 1], end


def _directive(template: str, at: int) -> tuple[str | _Directive, int]:
    """The directive at ``template[at] == '%'`` and where the text goes on; ``%%`` is a literal ``%``."""
    if template.startswith("%%", at):
        return "%", at + 2
    key, position = _percent_key(template, at + 1)
    flags, position = _run_of(template, position, "-+ 0#")
    width, position = _run_of(template, position, string.digits)
    precision = ""
    if template.startswith(".", position):
        digits, position = _run_of(template, position + 1, string.digits)
        precision = "." + digits
    _, position = _run_of(template, position, "hlL")  # length modifiers: Python ignores them
    if position >= len(template):
        raise python_error("ValueError", "incomplete format")
    conversion = template[position]
    too_wide = len(width) > _MAX_WIDTH_DIGITS or len(precision) > _MAX_PRECISION_DIGITS + 1
    if conversion not in _PERCENT_CONVERSIONS or too_wide:  # '*' widths, '%a', '%5%' ...
        raise _refuse(template[at : position + 1])
    return _Directive(key, "%" + flags + width + precision, conversion), position + 1


def _percent_parts(template: str) -> Iterator[str | _Directive]:
    """Literal text and directives, in order, parsed lazily (errors come where Python's would)."""
    start = 0
    while (at := template.find("%", start)) >= 0:
        yield template[start:at]
        part, start = _directive(template, at)
        yield part
    yield template[start:]


def _convert(directive: _Directive, arguments: _PercentArguments, render: Render) -> str:
    """``%s``/``%r`` through ``render``; numbers with Python's own ``%`` on that one value.

    Safe once bounded: width and precision are at most 3 and 2 digits, and Python's number
    conversions (``__int__``, ``__float__``, ``__index__``) exist only on builtins, tensors
    and numpy values, the only values a program can hold.
    """
    value = arguments.next() if directive.key is None else arguments.keyed(directive.key)
    if directive.conversion in "sr":
        text = _python(render, value, directive.conversion, "")
        return str(_python(operator.mod, directive.spec + "s", (text,)))
    return str(_python(operator.mod, directive.spec + directive.conversion, (value,)))


def percent_format(template: str, values: Any, render: Render) -> str:
    """``template % values`` with Python's semantics, each piece counted as it is appended."""
    if not isinstance(template, str):
        raise _type_error(f"% formatting needs a str template, not {type(template).__name__}")
    arguments, output = _PercentArguments(values), _Output()
    for part in _percent_parts(template):
        output.add(part if isinstance(part, str) else _convert(part, arguments, render))
    arguments.finish()
    return output.text()


STR_METHODS: dict[str, Handler] = {
    **{name: _method(sig, impl) for name, (sig, impl) in _signatures().items()},
    "format": format_method(default_render),
}
