"""``python -m gradtrace`` is the ``gradtrace`` command."""

from gradtrace.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
