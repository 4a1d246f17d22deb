"""Custom actions of the assistant, grouped by domain; run by ``rasa run actions``."""
