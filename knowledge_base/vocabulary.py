"""How knowledge-base answers and votes appear in a conversation's tracker: the intents and entities
of the article buttons, and the outcomes an answer's ``knowledge_base`` metadata carries. Shared by the
actions that write them and the reporting that reads them (``bot.analytics.capture``)."""

from __future__ import annotations

CHOOSE_INTENT = "kb_choose_article"  # the customer picked one of the suggested articles
FEEDBACK_INTENT = "kb_feedback"  # the customer's 有用 / 没用 on an answer
ARTICLE_ENTITY = "kb_article"
VOTE_ENTITY = "kb_helpful"  # "yes" / "no"
ANSWERED = ("confident", "chosen")  # outcomes that gave the customer an article
