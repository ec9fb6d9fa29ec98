"""Identity and access: users, sessions, permissions. Deny unless a permission allows."""
