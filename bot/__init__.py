"""The bot: the Rasa project (bot/rasa), the action server, the Rasa client and channels."""
