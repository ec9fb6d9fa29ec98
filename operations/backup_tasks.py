"""The worker's scheduled backup (beat entry in app/worker.py, every backup_interval_hours).

operations.scheduled_backup: write an archive into backup_dir, then delete the ones older
than backup_retention_days (never the newest). It is the same `create` as `tandem backup
create`, so a scheduled archive verifies and restores like a manual one.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from core.errors import Conflict
from operations import backup

log = logging.getLogger(__name__)


# Hours, not seconds: copying a large models directory takes minutes. No retries: the next
# run is the retry, and a half-done one leaves nothing behind (create() cleans up).
@shared_task(name="operations.scheduled_backup", soft_time_limit=3 * 3600,
             time_limit=3 * 3600 + 300, max_retries=0, ignore_result=True)
def scheduled_backup_task() -> dict[str, Any]:
    directory = backup.default_backup_dir()
    try:
        created = backup.create(directory, scheduled=True)
    except Conflict as exc:  # one is running already (started by hand); it will do
        log.warning("scheduled backup skipped: %s", exc.message)
        return {"archive": None, "removed": []}
    removed = backup.prune(directory)
    log.info("scheduled backup %s (%d bytes); %d old backups removed", created.path.name,
             created.size, len(removed))
    return {"archive": created.path.name, "removed": [path.name for path in removed]}
