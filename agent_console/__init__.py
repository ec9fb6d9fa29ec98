"""The agent side: queue, conversation view, claim/reply/resolve, over an API and a web page."""
