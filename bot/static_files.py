"""Serving the web pages' own files (agent console, chat widget): only known file types, only from
the folders named, never a path that climbs out of them."""

from __future__ import annotations

from pathlib import Path

from sanic import response
from sanic.response import HTTPResponse

TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css"}


async def static_file(path: Path, *folders: Path, missing: str = "not found") -> HTTPResponse:
    """The file, revalidated by browsers on every load (so a deploy is picked up), or 404."""
    if path.suffix not in TYPES or path.parent not in folders or not path.is_file():
        return response.text(missing, status=404)
    return await response.file(path, mime_type=TYPES[path.suffix], headers={"Cache-Control": "no-cache"})
