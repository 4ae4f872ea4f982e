"""Settings: defaults, GRADTRACE_* variables, flags over variables, validation, docs coverage."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gradtrace.service import Settings, describe_options

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_are_classroom_safe() -> None:
    s = Settings.load(env={})
    assert s.host == "127.0.0.1"
    assert s.threads == 1
    assert s.rate_limit > 0 and not s.rate_limit_localhost
    assert s.cors_origins == ""
    assert s.limits.wall_seconds == s.timeout


def test_env_then_overrides() -> None:
    env = {"GRADTRACE_PORT": "9001", "GRADTRACE_WORKERS": "3", "GRADTRACE_RATE_LIMIT_LOCALHOST": "yes",
           "GRADTRACE_TIMEOUT": "2.5", "GRADTRACE_STATIC_DIR": "/srv/app"}
    s = Settings.load(env=env, workers=5, port=None)
    assert (s.port, s.workers, s.rate_limit_localhost, s.timeout) == (9001, 5, True, 2.5)
    assert s.frontend_dir() == Path("/srv/app")
    assert s.limits.wall_seconds == 2.5


@pytest.mark.parametrize("env", [{"GRADTRACE_PORT": "http"}, {"GRADTRACE_ACCESS_LOG": "maybe"},
                                 {"GRADTRACE_WORKERS": "0"}, {"GRADTRACE_TIMEOUT": "-1"},
                                 {"GRADTRACE_DEVICES": ","}])
def test_bad_values_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        Settings.load(env=env)


def test_unknown_override_is_refused() -> None:
    with pytest.raises(ValueError):
        Settings.load(env={}, colour="blue")


def test_device_allow_list() -> None:
    everything = Settings.load(env={})
    assert everything.device_allowed("cuda:3")
    cpu_only = Settings.load(env={}, devices="cpu")
    assert cpu_only.device_allowed("cpu") and not cpu_only.device_allowed("cuda")
    first_gpu = Settings.load(env={}, devices="cpu,cuda:0")
    assert first_gpu.device_allowed("cuda:0") and first_gpu.device_allowed("cuda")
    assert not first_gpu.device_allowed("cuda:1")


def test_default_frontend_dir_is_in_the_checkout() -> None:
    assert Settings.load(env={}).frontend_dir() == ROOT / "frontend" / "dist"


def test_docs_list_every_option() -> None:
    doc = (ROOT / "docs" / "service.md").read_text("utf-8")
    for row in describe_options():
        assert f"`{row['flag']}`" in doc, row["flag"]
        assert f"`{row['env']}`" in doc, row["env"]


def test_readme_table_names_real_options_with_their_defaults() -> None:
    """The README's short table must not drift from the settings it summarises."""
    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(--[a-z-]+)` \| ([^|]+) \|", section, flags=re.MULTILINE)
    assert len(rows) >= 6
    known = {row["flag"]: row for row in describe_options()}
    defaults = Settings()
    for flag, shown in rows:
        assert flag in known, flag
        value = getattr(defaults, known[flag]["name"])
        if flag != "--workers":  # "one per core (≤ 8)"
            written = {str(value), f"{value:g}"} if isinstance(value, float) else {str(value)}
            assert shown.strip().strip("`") in written, flag
