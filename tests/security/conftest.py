"""Lets the security tests import their shared helpers (pytest runs with --import-mode=importlib)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def pytest_terminal_summary(terminalreporter: object) -> None:
    """Print the hostile runs' worst time and memory (``worst.ROWS``, filled by test_hostile)."""
    import worst

    worst.report(terminalreporter)
