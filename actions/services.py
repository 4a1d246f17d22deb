"""Services the actions share, created once per action-server process.

Actions take them as constructor arguments (tests pass their own); rasa_sdk creates actions without
arguments, and then these process-wide defaults are used. Loading the knowledge base takes seconds
(the embedding model), so the action server starts loading it in the background at import time
(``BANKBOT_PRELOAD=1``, set by the supervisor) and the first question only waits for the rest.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from functools import cache

from actions.config import policy
from bot.identity import CodeSender, LogCodeSender, OneTimeCodes
from bot.privacy import Sealer, configured_or_local_secret, handle_key, pseudonym_key
from bot.profile.db import session_factory
from bot.profile.service import ProfileService
from bot.settings import load_settings
from knowledge_base.feedback import FeedbackStore
from knowledge_base.search import LOAD_ERRORS, Retriever, configured_retriever

logger = logging.getLogger(__name__)
_loading = threading.Lock()


@dataclass(frozen=True)
class KnowledgeBase:
    """The loaded retriever, or why there is none (then actions fall back to topic overviews)."""

    retriever: Retriever | None
    problem: str | None = None


@cache
def _load_knowledge_base() -> KnowledgeBase:
    try:
        retriever = configured_retriever(load_settings())
    except LOAD_ERRORS as error:
        logger.error("knowledge base unavailable, answering with topic overviews only: %s", error)
        return KnowledgeBase(None, str(error))
    logger.info("knowledge base loaded: %d articles", len(retriever.index.article_ids))
    return KnowledgeBase(retriever)


def knowledge_base() -> KnowledgeBase:
    """The process's knowledge base (loaded on first use; concurrent callers wait for one load)."""
    with _loading:
        return _load_knowledge_base()


@cache
def feedback_store() -> FeedbackStore:
    settings = load_settings()
    return FeedbackStore(settings.kb_feedback_db, pseudonym_key(settings))


@cache
def profile_service() -> ProfileService:
    """The profile store (connects on first request, so an unreachable database fails per question)."""
    return ProfileService(session_factory(load_settings().profile_db))


def _codes(sender: CodeSender) -> OneTimeCodes:
    settings = load_settings()
    key = configured_or_local_secret("BANKBOT_OTP_KEY", settings.otp_key_file)
    return OneTimeCodes(settings.profile_db, key, sender)


@cache
def one_time_codes() -> OneTimeCodes:
    """SMS codes for verifying a customer and confirming large transfers (challenges in the profile DB).

    Codes go to the log until an SMS gateway is plugged in (``bot.identity.CodeSender``).
    """
    return _codes(LogCodeSender())


class DiscardingSender:
    """Sends nothing: a code "sent" to a number that is not a customer's."""

    def send(self, phone: str, code: str) -> None:
        return None


@cache
def blind_codes() -> OneTimeCodes:
    """Codes for numbers the bank does not know, in the same table but never delivered.

    The conversation then looks the same whether or not the number is a customer's (same replies,
    same lockout), so the chat cannot be used to find out who banks here.
    """
    return _codes(DiscardingSender())


@cache
def sealer() -> Sealer:
    """Opens the phone numbers the gateway seals into message metadata (``bot.privacy.Sealer``)."""
    return Sealer(handle_key(load_settings()), max_age=60 * policy("verification", "handle_minutes"))


def preload_in_background() -> None:
    """Start loading the knowledge base now, so the first customer does not wait for the model."""
    if os.environ.get("BANKBOT_PRELOAD") == "1":
        threading.Thread(target=knowledge_base, name="preload-knowledge-base", daemon=True).start()
