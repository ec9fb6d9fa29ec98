"""Conversations and their messages: the record every channel, the bot and agents share."""
