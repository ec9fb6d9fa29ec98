"""Outgoing integrations: signed webhooks for ticket events."""
