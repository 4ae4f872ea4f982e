"""The shared vocabulary: errors render in both languages, limits stay in one place."""

from __future__ import annotations

import pytest

from gradtrace.core import DEFAULT_LIMITS, GradtraceError, Span
from gradtrace.core.messages import CATALOG, register


def test_error_renders_in_both_languages_with_location() -> None:
    err = GradtraceError("runtime", "internal", span=Span(3, 5, 3, 9))
    en, ko = err.to_dict("en"), err.to_dict("ko")
    assert en["message"] != ko["message"]
    assert (en["line"], en["col"], en["end_col"]) == (3, 5, 9)
    assert ko["hint"] and en["hint"]
    assert ko["lang"] == "ko"


def test_unknown_code_falls_back_to_detail_text() -> None:
    err = GradtraceError("runtime", "no_such_code_anywhere", detail="raw torch text")
    assert err.message("ko") == "raw torch text"
    assert err.hint("en") is None


def test_message_params_are_data_never_format_code() -> None:
    register({"test_param_echo": {"en": "name {name} refused", "ko": "{name} 거부"}})
    hostile = "{0.__class__.__mro__}"
    err = GradtraceError("not_allowed", "test_param_echo", params={"name": hostile})
    assert err.message("en") == f"name {hostile} refused"


def test_registering_a_code_twice_with_other_text_is_refused() -> None:
    register({"test_dup": {"en": "a"}})
    with pytest.raises(ValueError):
        register({"test_dup": {"en": "b"}})
    assert CATALOG["test_dup"]["en"] == "a"


def test_limits_overrides_are_checked() -> None:
    tighter = DEFAULT_LIMITS.with_overrides(steps=10)
    assert tighter.steps == 10 and DEFAULT_LIMITS.steps != 10
    with pytest.raises(ValueError):
        DEFAULT_LIMITS.with_overrides(no_such_limit=1)


def test_a_template_with_a_format_spec_never_raises() -> None:
    register({"test_spec_in_template": {"en": "write it like {x:.4f}", "ko": "{x:.4f}처럼"}})
    err = GradtraceError("not_allowed", "test_spec_in_template")
    assert "{x:.4f}" in err.message("en")
