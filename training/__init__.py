"""Retraining: capture of bot and agent outcomes, datasets, training jobs, model registry."""
