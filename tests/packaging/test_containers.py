"""Static checks of the container files (no Docker engine runs here).

The compose file must parse (PyYAML when installed, else a structural check), name
Dockerfiles that exist, and give every service a healthcheck and a non-root user;
the Dockerfiles must install the very versions pyproject.toml pins.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILES = [ROOT / "Dockerfile", ROOT / "Dockerfile.gpu"]


def _pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    pins = {}
    for requirement in project["dependencies"]:
        name, _, version = requirement.partition("==")
        pins[name.strip().lower()] = version.strip()
    return pins


def _compose() -> dict[str, Any] | None:
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:
        return None
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text("utf-8"))
    return data


def test_compose_is_wellformed_text() -> None:
    text = COMPOSE.read_text("utf-8")
    assert "\t" not in text, "YAML forbids tabs for indentation"
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.lstrip(" ")
        if stripped and not stripped.startswith("#"):
            assert (len(line) - len(stripped)) % 2 == 0, f"odd indentation on line {number}"
    assert re.search(r"^services:\s*$", text, re.M)
    for line in text.splitlines():
        code = line.split(" #")[0]
        assert code.count('"') % 2 == 0 and code.count("'") % 2 == 0, f"unbalanced quotes: {line}"


def test_compose_services_by_structure() -> None:
    text = COMPOSE.read_text("utf-8")
    services = re.findall(r"^  ([a-z][a-z0-9-]*):\s*$", text.split("\nservices:", 1)[1], re.M)
    assert services == ["gradtrace", "gradtrace-gpu"]
    for dockerfile in re.findall(r"dockerfile:\s*(\S+)", text):
        assert (ROOT / dockerfile).is_file(), dockerfile
    assert re.search(r'profiles:\s*\["gpu"\]', text)
    assert re.search(r"driver:\s*nvidia", text) and re.search(r"capabilities:\s*\[gpu\]", text)
    assert "/api/health" in text and "healthcheck: *healthcheck" in text
    assert text.count("<<: *hardening") == len(services)
    assert re.search(r'user:\s*"10001:10001"', text)


def test_compose_parses_with_yaml_when_available() -> None:
    data = _compose()
    if data is None:
        pytest.skip("PyYAML is not installed; the structural check above covers the file")
    services = data["services"]
    assert set(services) == {"gradtrace", "gradtrace-gpu"}
    assert services["gradtrace-gpu"]["profiles"] == ["gpu"]
    assert "profiles" not in services["gradtrace"]  # CPU is the default
    for service in services.values():
        assert (ROOT / service["build"]["dockerfile"]).is_file()
        assert service["healthcheck"]["test"][0] == "CMD"
        assert service["user"] != "root" and service["read_only"] is True


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_installs_the_pinned_versions(path: Path) -> None:
    text = path.read_text("utf-8")
    pins = _pins()
    torch = re.findall(r'"torch==([^"]+)"', text)
    assert torch == [pins["torch"]], "torch must be the version pyproject.toml pins"
    assert re.search(r"^RUN pip install \. ", text, re.M), "the rest comes from pyproject.toml's pins"
    python = re.search(r"requires-python = \">=(\d+\.\d+)\"", (ROOT / "pyproject.toml").read_text("utf-8"))
    assert python is not None
    if path.name == "Dockerfile":
        assert re.search(rf"^FROM python:{re.escape(python.group(1))}", text, re.M)
        assert "whl/cpu" in text
    else:
        assert re.search(r"^FROM nvidia/cuda:[\d.]+-\S*runtime\S*", text, re.M)
        assert re.search(r"whl/cu\d+", text)


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_runs_as_a_user_with_a_healthcheck(path: Path) -> None:
    text = path.read_text("utf-8")
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1] not in {"root", "0", "0:0"}
    assert re.search(r"^HEALTHCHECK .*\n.*?/api/health", text, re.M)
    assert re.search(r"^EXPOSE 8000$", text, re.M)
    assert "GRADTRACE_HOST=0.0.0.0" in text and "GRADTRACE_STATIC_DIR=" in text
    assert re.search(r'^CMD \["gradtrace", "serve"\]$', text, re.M)


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_copies_files_that_exist(path: Path) -> None:
    for line in path.read_text("utf-8").splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), f"{path.name}: {source}"


def test_dockerignore_keeps_local_builds_out() -> None:
    ignored = set((ROOT / ".dockerignore").read_text("utf-8").split())
    assert {".venv", ".git", "frontend/node_modules", "frontend/dist"} <= ignored
