"""The gateway channel's output keeps what actions attach to a reply, using Rasa's own event objects."""

import asyncio

from rasa.core.actions.action import create_bot_utterance

from bot.channels import GatewayOutput


def deliver(action_message: dict) -> list[dict]:
    """What the channel collects for one message as a custom action sends it (rasa_sdk's dict)."""
    output = GatewayOutput()
    event = create_bot_utterance(dict(action_message))
    asyncio.run(output.send_response("customer-1", event.message()))
    return output.messages


def test_knowledge_base_metadata_reaches_the_client() -> None:
    buttons = [{"title": "有用", "payload": '/kb_feedback{"kb_article": "cards-003", "kb_helpful": "yes"}'}]
    details = {"outcome": "confident", "article_id": "cards-003"}
    [message] = deliver({"text": "您可以在手机银行激活。", "buttons": buttons, "knowledge_base": details})
    assert message == {
        "recipient_id": "customer-1",
        "text": "您可以在手机银行激活。",
        "buttons": buttons,
        "metadata": {"knowledge_base": details},
    }


def test_plain_replies_stay_plain_and_long_answers_are_not_split() -> None:
    [message] = deliver({"text": "第一段。\n\n第二段。", "utter_action": "utter_greet"})
    assert message == {"recipient_id": "customer-1", "text": "第一段。\n\n第二段。"}
