"""Customer privacy: export and erasure of a customer's personal data."""
