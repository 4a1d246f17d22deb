"""Log lines operators can search: one JSON object per line, with the conversation they concern.

``LOG_FORMAT=json`` (the deployment files set it) switches the gateway and the action server to
JSON; the default stays readable text for ``make run``. Either way every record carries the
conversation id of the message being handled (a context variable, so concurrent conversations do
not mix) and its PII is masked before any handler sees it (``bot.privacy.mask_every_log_record``).
"""

from __future__ import annotations

import json
import logging
import os
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any

_conversation: ContextVar[str | None] = ContextVar("conversation_id", default=None)
TEXT_FORMAT = "%(asctime)s %(name)s %(levelname)s [%(conversation_id)s] %(message)s"


def set_conversation(conversation_id: str | None) -> None:
    """For the rest of the current task (a server request), records name ``conversation_id``."""
    _conversation.set(conversation_id)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "conversation_id": getattr(record, "conversation_id", None),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def tag_records_with_conversation() -> None:
    """Give every record a ``conversation_id`` attribute (None outside a conversation)."""
    create = logging.getLogRecordFactory()

    def create_tagged(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = create(*args, **kwargs)
        record.conversation_id = _conversation.get()
        return record

    logging.setLogRecordFactory(create_tagged)


def wants_json() -> bool:
    return os.environ.get("LOG_FORMAT", "").strip().lower() == "json"


def format_root_handlers() -> None:
    """Put our format on the handlers already installed (Rasa SDK installs its own at start-up)."""
    formatter = JsonFormatter() if wants_json() else logging.Formatter(TEXT_FORMAT)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter)


def configure(level: int = logging.INFO) -> None:
    """For a process whose logging we own (the gateway)."""
    tag_records_with_conversation()
    logging.basicConfig(level=level)
    format_root_handlers()
