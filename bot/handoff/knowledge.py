"""Knowledge-base search for the agent console's quick-insert (the same index the bot answers from).

Loaded on the first search, in a worker thread, so the gateway starts fast and a gateway that is
never asked does not hold the embedding model. Without an index the search returns nothing.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from bot.settings import Settings

if TYPE_CHECKING:
    from knowledge_base.search import Retriever

logger = logging.getLogger(__name__)
RESULTS = 5


class LazyKnowledgeBase:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._retriever: Retriever | None = None
        self._failed = False

    def search(self, query: str) -> list[dict[str, str]]:
        retriever = self.retriever()
        if retriever is None:
            return []
        results = retriever.search(query, top_k=RESULTS)
        articles = retriever.index.articles
        return [
            {"id": r.id, "title": articles[r.id].question, "answer": articles[r.id].answer} for r in results
        ]

    def retriever(self) -> Retriever | None:
        """The loaded retriever (loading it on first use); None when there is no usable index."""
        with self._lock:
            if self._retriever is None and not self._failed:
                from knowledge_base.search import LOAD_ERRORS, configured_retriever  # pulls in torch

                try:
                    self._retriever = configured_retriever(self.settings)
                except LOAD_ERRORS as error:
                    logger.error("knowledge-base quick insert unavailable: %s", error)
                    self._failed = True
            return self._retriever
