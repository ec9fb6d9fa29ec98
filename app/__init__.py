"""Composition root: builds the FastAPI app, the Celery app and the CLI. Nothing imports it."""
