"""Complaints: how one already made is going, or a new one in the customer's own words.

``action_handle_complaint`` runs for a verified customer (``action_begin_request`` comes first). A
question about complaints already made gets their progress against the promised deadlines; anything
else opens ``complaint_form``, filled in advance from the message that started it when that says
what the complaint is about and what happened. The ticket goes to a member of staff who handles
complaints (``ProfileService.create_ticket``); the customer gets the reference and the deadlines.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Callable, Sequence
from functools import partial
from itertools import chain
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.appointments import by_label, pick_by_keywords
from actions.config import message, policy
from actions.customer import Lookup, answer
from actions.formatting import format_moment
from actions.handoff import hand_over
from actions.services import profile_service
from actions.session import request_message, verified_customer
from bot.privacy import mask_pii
from bot.profile.errors import NotFound
from bot.profile.models import TicketCategory, TicketStatus, utc_now
from bot.profile.service import MAX_TICKET_CHARS, MAX_TICKETS, ProfileService
from bot.profile.views import TicketView
from bot.text import normalize

FORM = "complaint_form"
CATEGORY, DESCRIPTION = "complaint_category", "complaint_description"
FORM_SLOTS = (CATEGORY, DESCRIPTION)
FILE_PURPOSE = "客户投诉登记"
STATUS_PURPOSE = "客户查询投诉进度"
_REFERENCE = re.compile(r"TS(?:\d{16}|\*{4}\d{4})(?!\d)", re.IGNORECASE)
_NOT_WORDS = re.compile(r"[\W_]+")


def category_of(text: str) -> TicketCategory | None:
    """What a complaint is about ("年费扣了两次" → fees); None when unclear."""
    key = pick_by_keywords(text, policy("complaint", "categories"))
    return TicketCategory(key) if key else None


def quoted_reference(text: str) -> str | None:
    """A complaint reference in the message: ``TS2025…`` or, masked by the gateway when its digits
    pass as a card number, ``TS****1234``."""
    found = _REFERENCE.search(text)
    return found[0].upper() if found else None


def is_status_question(text: str) -> bool:
    """Whether the customer asks about complaints already made ("上次投诉怎么样了", a reference).

    Saying they complain now wins over status words: "我要投诉，客服一直没回复" is a new complaint.
    """
    plain = normalize(text)

    def mentions(words: str) -> bool:
        return any(word in plain for word in policy("complaint", words))

    filing = mentions("filing_words")
    asks = mentions("status_subjects") and mentions("status_words")
    return quoted_reference(text) is not None or (asks and not filing)


def says_what_happened(text: str) -> bool:
    """Whether the message has enough words besides category and filler words to be the description."""
    plain = normalize(text)
    words = chain(*policy("complaint", "categories").values(), policy("complaint", "filler_words"))
    for word in sorted(words, key=len, reverse=True):
        plain = plain.replace(word, "")
    return len(_NOT_WORDS.sub("", plain)) >= policy("complaint", "descriptive_chars")


def checked_description(value: Any) -> tuple[str | None, str | None]:
    """(the description with PII masked, None), or (None, the key of the problem in messages.yml).

    The gateway masks PII before messages arrive; masking again keeps it out of the ticket anyway.
    """
    text = value.strip() if isinstance(value, str) and not value.startswith("/") else ""
    if not text:
        return None, "description_empty"
    if len(text) > MAX_TICKET_CHARS:
        return None, "description_too_long"
    if len(_NOT_WORDS.sub("", text)) < policy("complaint", "min_description_chars"):
        return None, "description_too_short"
    return mask_pii(text), None


def say_problem(dispatcher: CollectingDispatcher, problem: str) -> None:
    dispatcher.utter_message(text=message("complaint", problem, limit=MAX_TICKET_CHARS))


# -- progress of complaints already made ---------------------------------------------------------


def overdue(ticket: TicketView, now: dt.datetime) -> bool:
    """Past the deadline it is waiting for: the first response while open, then the resolution."""
    if ticket.status is TicketStatus.OPEN:
        return now > ticket.respond_by
    return ticket.status is TicketStatus.IN_PROGRESS and now > ticket.resolve_by


def ticket_lines(tickets: Sequence[TicketView], now: dt.datetime) -> list[str]:
    return [
        message(
            "complaint",
            "status_line",
            index=index,
            reference=ticket.reference,
            category=ticket.category.label,
            status=ticket.status.label,
            created=format_moment(ticket.created_at),
            respond_by=format_moment(ticket.respond_by),
            resolve_by=format_moment(ticket.resolve_by),
            overdue=message("complaint", "overdue") if overdue(ticket, now) else "",
        )
        for index, ticket in enumerate(tickets, 1)
    ]


def quoted_tickets(lookup: Lookup, reference: str) -> tuple[TicketView, ...]:
    """The customer's tickets the reference names (a masked one by its last four digits)."""
    if "*" not in reference:
        try:
            return (
                lookup.profiles.ticket_status(
                    lookup.actor, lookup.customer_no, reference, purpose=lookup.purpose
                ),
            )
        except NotFound:
            return ()
    mine = lookup.profiles.tickets(
        lookup.actor, lookup.customer_no, purpose=lookup.purpose, limit=MAX_TICKETS
    )
    return tuple(t for t in mine if t.reference.endswith(reference[-4:]))


def status_reply(lookup: Lookup, text: str, now: dt.datetime, offer_filing: list[bool]) -> str:
    """Progress of the complaint quoted, else of the customer's open ones; none: offer to file one."""
    name = lookup.addressed_as()
    reference = quoted_reference(text)
    if reference:
        tickets = quoted_tickets(lookup, reference)
        if not tickets:
            return message("complaint", "not_found", reference=reference)
    else:
        shown = policy("complaint", "tickets_shown")
        tickets = lookup.profiles.tickets(
            lookup.actor, lookup.customer_no, purpose=lookup.purpose, open_only=True, limit=shown
        )
        if not tickets:
            offer_filing.append(True)
            return message("complaint", "status_none", name=name)
    return "\n".join([message("complaint", "status_intro", name=name), *ticket_lines(tickets, now)])


# -- a new complaint -----------------------------------------------------------------------------


def prefilled(text: str, dispatcher: CollectingDispatcher) -> list[EventType]:
    """The form's slots as far as the message that started the complaint answers them."""
    category = category_of(text)
    description = None
    if says_what_happened(text):
        description, problem = checked_description(text)
        if problem:
            say_problem(dispatcher, problem)
    return [SlotSet(CATEGORY, category.label if category else None), SlotSet(DESCRIPTION, description)]


class ActionHandleComplaint(Action):
    """A verified customer's complaint: its progress if they ask about one, else the complaint form."""

    def __init__(
        self,
        profiles: Callable[[], ProfileService] = profile_service,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.profiles = profiles
        self._clock = clock

    def name(self) -> str:
        return "action_handle_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if verified_customer(tracker) is None:
            dispatcher.utter_message(text=message("accounts", "verify_first"))
            return []
        text = request_message(tracker).get("text") or ""
        text = "" if text.startswith("/") else text  # a button's intent payload, not the customer's words
        if not is_status_question(text):
            dispatcher.utter_message(text=message("complaint", "opening"))
            return [*prefilled(text, dispatcher), FollowupAction(FORM)]
        offer_filing: list[bool] = []
        compose = partial(status_reply, text=text, now=self._clock(), offer_filing=offer_filing)
        reply = await asyncio.to_thread(answer, tracker, self.profiles, STATUS_PURPOSE, compose)
        buttons = (
            [{"title": message("complaint", "file_button"), "payload": "/complain"}] if offer_filing else []
        )
        dispatcher.utter_message(text=reply, buttons=buttons)
        return []


class ValidateComplaintForm(FormValidationAction):
    def name(self) -> str:
        return "validate_complaint_form"

    def validate_complaint_category(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = value if isinstance(value, str) else ""
        category = by_label(TicketCategory, text.strip()) or category_of(text)
        if category is None:
            dispatcher.utter_message(text=message("complaint", "category_unclear"))
            return {CATEGORY: None}
        return {CATEGORY: category.label}

    def validate_complaint_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        description, problem = checked_description(value)
        if problem:
            say_problem(dispatcher, problem)
        return {DESCRIPTION: description}


def filed_reply(lookup: Lookup, category: TicketCategory, description: str) -> str:
    """Open the ticket; its reference, deadlines and handler, and how to reach a person now."""
    name = lookup.addressed_as()
    ticket = lookup.profiles.create_ticket(
        lookup.actor, lookup.customer_no, category, description, purpose=lookup.purpose
    )
    filed = message(
        "complaint",
        "filed" if ticket.handler_name else "filed_unassigned",
        name=name,
        reference=ticket.reference,
        category=category.label,
        respond_by=format_moment(ticket.respond_by),
        resolve_by=format_moment(ticket.resolve_by),
        handler=ticket.handler_name,
    )
    return filed


class ActionSubmitComplaint(Action):
    def __init__(self, profiles: Callable[[], ProfileService] = profile_service) -> None:
        self.profiles = profiles

    def name(self) -> str:
        return "action_submit_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        clear = [SlotSet(slot, None) for slot in FORM_SLOTS]
        category = by_label(TicketCategory, tracker.get_slot(CATEGORY))
        description, _ = checked_description(tracker.get_slot(DESCRIPTION))
        if category is None or description is None:  # not through the form's validation: ask again
            return [*clear, FollowupAction(FORM)]
        compose = partial(filed_reply, category=category, description=description)
        text = await asyncio.to_thread(answer, tracker, self.profiles, FILE_PURPOSE, compose)
        dispatcher.utter_message(text=text)
        return [*clear, *hand_over("complaint")]  # a complaints handler takes over, with the ticket
