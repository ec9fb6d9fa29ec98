"""Hand-off to humans: tickets, the agent queue, claiming, replying and resolving."""
