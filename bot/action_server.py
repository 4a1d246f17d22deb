"""The Rasa action server with our operations surface: ``/metrics``, per-action timing, tagged logs.

``python -m bot.action_server --actions actions --port 5055`` takes the same arguments as
``python -m rasa_sdk``. Rasa SDK's own plugin hook (``attach_sanic_app_extensions``) adds a
Prometheus endpoint and a middleware that times each action and names its conversation in the logs;
``/health`` is the SDK's own.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import pluggy
from rasa_sdk import __main__ as sdk_main
from rasa_sdk.plugin import plugin_manager
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import metrics, structured_logs

hookimpl = pluggy.HookimplMarker("rasa_sdk")


def _action_call(request: Request) -> tuple[str, str | None]:
    """(action name, conversation id) of a ``/webhook`` call; tolerant of malformed bodies."""
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return "malformed", None
    if not isinstance(body, dict):
        return "malformed", None
    tracker = body.get("tracker") if isinstance(body.get("tracker"), dict) else {}
    return str(body.get("next_action") or "unknown")[:64], tracker.get("sender_id")


class Operations:
    """The plugin: registered with Rasa SDK's plugin manager before the server is created."""

    @hookimpl
    def attach_sanic_app_extensions(self, app: Sanic) -> None:
        structured_logs.format_root_handlers()

        @app.get("/metrics")
        async def prometheus(_request: Request) -> HTTPResponse:
            return response.raw(metrics.exposition(), content_type=metrics.EXPOSITION_TYPE)

        @app.on_request
        async def start_clock(request: Request) -> None:
            conversation_id = None
            if request.path == "/webhook":
                request.ctx.started = time.perf_counter()
                request.ctx.action, conversation_id = _action_call(request)
            structured_logs.set_conversation(conversation_id)  # this request's task only

        @app.on_response
        async def stop_clock(request: Request, _response: Any) -> None:
            started = getattr(request.ctx, "started", None)
            if started is not None:
                metrics.ACTION_SECONDS.labels(request.ctx.action).observe(time.perf_counter() - started)


def main() -> None:
    structured_logs.tag_records_with_conversation()
    plugin_manager().register(Operations())
    sys.argv[0] = "rasa_sdk"
    sdk_main.main()


if __name__ == "__main__":
    main()
