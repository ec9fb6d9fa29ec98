"""Administration: users, roles, teams, API keys and the audit trail (API and console page)."""
