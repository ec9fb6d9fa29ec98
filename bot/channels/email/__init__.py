"""The e-mail channel: agent replies go out over SMTP, customer mail comes in by webhook or
IMAP and is threaded onto its ticket by Message-ID / In-Reply-To (see docs/email.md)."""
