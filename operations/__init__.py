"""Running the platform: backups, metrics, process supervision."""
