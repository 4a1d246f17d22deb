"""The gate in front of every account request (``action_begin_request`` in the rules).

Many messages of an account intent are questions about the service, not requests: 跨行转账多久到账
is ``transfer_money`` as much as 给张伟转500. A question is answered from the knowledge base and
the form is not started; a request from a customer not verified yet starts verification
(``actions.verification``), which comes back to the request afterwards; a verified customer's
request goes straight on to the form or action the rule names next.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.config import message, policy
from actions.handoff import hand_over
from actions.knowledge import ActionSearchKnowledgeBase
from actions.services import KnowledgeBase, knowledge_base
from actions.session import request_message, verified_customer
from actions.transfers import wants_transfer
from actions.verification import FORM_SLOTS, RESUME_SLOT
from actions.wealth import wants_plan_change, wants_redemption
from bot.text import normalize

_ASKING = re.compile(
    r"[吗呢？?]|多少|多久|几天|怎么|怎样|如何|什么|哪天|能不能|可不可以|是不是|为什么|为啥|还能|算哪"
)
_TROUBLE = re.compile(r"不了|失败|灰|一直|还没|没到|撤")

# Intents whose messages are often questions: what makes one a request. The others always are.
REQUEST_CUES: dict[str, Callable[[str], bool]] = {
    "transfer_money": wants_transfer,
    "fund_redemption": wants_redemption,
    "fixed_investment": wants_plan_change,
}


def is_request(intent: str | None, text: str) -> bool:
    """Whether the message asks for something to be done (not how it works, not why it failed)."""
    cue = REQUEST_CUES.get(intent or "")
    if cue is None:
        return True
    text = normalize(text)
    return cue(text) and not (_ASKING.search(text) or _TROUBLE.search(text))


COMPLAIN = "complain"


class ActionBeginRequest(Action):
    def __init__(self, knowledge: Callable[[], KnowledgeBase] = knowledge_base) -> None:
        self.knowledge = knowledge

    def name(self) -> str:
        return "action_begin_request"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        request = request_message(tracker)
        intent = (request.get("intent") or {}).get("name")
        if not is_request(intent, request.get("text") or ""):
            events = await ActionSearchKnowledgeBase(self.knowledge).run(dispatcher, tracker, domain)
            if any(event.get("event") == "followup" for event in events):  # a person takes over
                return events
            return [*events, FollowupAction("action_listen")]  # answered: the rule's form does not start
        if verified_customer(tracker):
            return []
        if intent == COMPLAIN:  # an upset customer is not asked for a phone number first: a person is
            return hand_over("complaint")
        dispatcher.utter_message(text=message("verification", "needed"))
        return [
            SlotSet(RESUME_SLOT, policy("verification", "resume").get(intent)),
            *[SlotSet(slot, None) for slot in FORM_SLOTS],
            FollowupAction("verification_form"),
        ]
