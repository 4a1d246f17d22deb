"""Custom actions of the assistant, grouped by domain; run by ``rasa run actions``."""

from actions.services import preload_in_background

preload_in_background()
