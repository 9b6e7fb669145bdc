"""Entry point for `uvicorn fast:app`."""

from oktapi.app import create_app

app = create_app()
