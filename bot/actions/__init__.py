"""Custom actions, served to Rasa over its HTTP action protocol by the api."""
