"""Channels: how customers reach the platform (web widget, REST API; e-mail later)."""
