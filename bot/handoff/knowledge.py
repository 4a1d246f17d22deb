"""Knowledge-base search for the agent console's quick-insert (the same index the bot answers from).

Loaded on the first search, in a worker thread, so the gateway starts fast and a gateway that is
never asked does not hold the embedding model. Without an index the search returns nothing.
"""

from __future__ import annotations

import logging
import threading

from bot.settings import Settings

logger = logging.getLogger(__name__)
RESULTS = 5


class LazyKnowledgeBase:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._retriever: object | None = None
        self._failed = False

    def search(self, query: str) -> list[dict[str, str]]:
        retriever = self._load()
        if retriever is None:
            return []
        results = retriever.search(query, top_k=RESULTS)
        articles = retriever.index.articles
        return [
            {"id": r.id, "title": articles[r.id].question, "answer": articles[r.id].answer} for r in results
        ]

    def _load(self):
        with self._lock:
            if self._retriever is None and not self._failed:
                from knowledge_base.index import IndexLoadError
                from knowledge_base.search import Retriever

                try:
                    self._retriever = Retriever.load(
                        self.settings.kb_index_dir,
                        self.settings.kb_articles_dir,
                        model_dir=self.settings.kb_model_dir,
                    )
                except (IndexLoadError, ValueError, OSError) as error:
                    logger.error("knowledge-base quick insert unavailable: %s", error)
                    self._failed = True
            return self._retriever
