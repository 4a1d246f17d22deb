import json
import logging

from bot import structured_logs
from bot.privacy import mask_every_log_record


def test_json_lines_name_the_conversation_and_mask_pii(monkeypatch) -> None:
    monkeypatch.setenv("LOG_FORMAT", "json")
    factory = logging.getLogRecordFactory()
    try:
        mask_every_log_record()
        structured_logs.tag_records_with_conversation()
        logger = logging.getLogger("test.structured")
        structured_logs.set_conversation("conv-42")
        inside = logger.makeRecord(
            logger.name, logging.WARNING, __file__, 1, "手机 %s", ("13812345678",), None
        )
        structured_logs.set_conversation(None)
        outside = logger.makeRecord(logger.name, logging.INFO, __file__, 1, "started", (), None)
    finally:
        logging.setLogRecordFactory(factory)
    formatter = structured_logs.JsonFormatter()
    line = json.loads(formatter.format(inside))
    assert line["conversation_id"] == "conv-42" and line["level"] == "WARNING"
    assert "13812345678" not in line["message"] and line["message"].startswith("手机 ")
    assert json.loads(formatter.format(outside))["conversation_id"] is None


def test_text_format_is_the_default(monkeypatch) -> None:
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    assert not structured_logs.wants_json()
    monkeypatch.setenv("LOG_FORMAT", "JSON")
    assert structured_logs.wants_json()
