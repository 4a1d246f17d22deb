"""Bot replies as WeChat text: no buttons in WeChat, so they become numbered options the user answers
with a digit, and long answers are split within WeChat's 2048-byte limit for one text."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

MAX_BYTES = 2000  # WeChat allows 2048 bytes of text per message; a margin for the options line


def as_text(replies: Iterable[dict[str, Any]]) -> tuple[str, list[str]]:
    """All replies joined, buttons as "1. …" lines; and the payloads the digits stand for."""
    parts, payloads = [], []
    for reply in replies:
        lines = [reply.get("text") or ""]
        for button in reply.get("buttons") or []:
            payloads.append(str(button.get("payload", "")))
            lines.append(f"{len(payloads)}. {button.get('title', '')}")
        parts.append("\n".join(line for line in lines if line))
    text = "\n\n".join(part for part in parts if part)
    if payloads:
        text += "\n（回复数字即可选择）"
    return text, payloads


def chunks(text: str, limit: int = MAX_BYTES) -> list[str]:
    """Pieces of at most ``limit`` UTF-8 bytes, cut at line ends where possible."""
    pieces, current = [], ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate.encode()) <= limit:
            current = candidate
            continue
        if current:
            pieces.append(current)
        while len(line.encode()) > limit:  # one line longer than a message: cut by characters
            cut = len(line.encode()[:limit].decode(errors="ignore"))
            pieces.append(line[:cut])
            line = line[cut:]
        current = line
    return [*pieces, current] if current else pieces
