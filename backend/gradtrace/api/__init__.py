"""The HTTP layer: ``create_app(settings)`` builds the FastAPI app."""

from gradtrace.api.app import create_app

__all__ = ["create_app"]
