"""The curriculum examples: the PyTorch-basics course, as runnable programs.

Kept as data (``curriculum.json``) so the API serves them, the web app lists them
and the tests run each one and check the numbers the course notes give.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def examples() -> list[dict[str, Any]]:
    text = resources.files("gradtrace.core").joinpath("curriculum.json").read_text("utf-8")
    data: list[dict[str, Any]] = json.loads(text)["examples"]
    return data
