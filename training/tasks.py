"""Worker tasks of the learning loop's registry. One shape: stable name, time limits, IDs."""

from __future__ import annotations

from celery import shared_task

from core.settings import get_settings
from training import jobs

_LIMIT = get_settings().training_time_limit_seconds


@shared_task(
    name="training.train_model",
    soft_time_limit=_LIMIT + 30,  # the job enforces the limit itself first; this is the backstop
    time_limit=_LIMIT + 90,
    max_retries=0,  # a failed training is reported, not repeated
    ignore_result=True,
)
def train_model(version: int) -> str:
    """Train a registered model version (training.jobs.run_training)."""
    return jobs.run_training(version)
