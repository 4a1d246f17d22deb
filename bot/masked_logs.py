"""Run a Python module with PII masked in its logs: ``python -m bot.masked_logs rasa run …``.

The Rasa server and the action server are third-party entry points that set up logging their own
way (``coloredlogs``, structlog, Sanic). This installs ``bot.privacy.mask_every_log_record`` first
and then runs the module exactly as ``python -m`` would, so no copy of their entry points, no
``sitecustomize`` and no logging configuration file to keep in step with them. (Rasa's
``--logging-config-file`` is no alternative: a filter put on the console handler there is dropped
when Rasa installs ``coloredlogs`` right after.)

For ``rasa``, the hot spots in ``bot.rasa_tuning`` are fixed first, in the same process.
"""

from __future__ import annotations

import runpy
import sys

from bot.privacy import mask_every_log_record


def main(argv: list[str]) -> None:
    if not argv:
        raise SystemExit("usage: python -m bot.masked_logs MODULE [ARGUMENT ...]")
    mask_every_log_record()
    if argv[0] == "rasa":
        from bot.rasa_tuning import tune  # imports Rasa: only in the Rasa server's process

        tune()
    sys.argv = argv  # as `python -m MODULE ARGUMENT …` sees them (runpy puts the file in argv[0])
    runpy.run_module(argv[0], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
