"""Shared foundations: settings, database, errors, auth and task helpers. Imports no domain."""
