"""Every text and rule the actions use exists and is well-formed."""

import string

from actions.config import messages, policy
from actions.fallback import likely_topics


def _placeholders(text: str) -> set:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_intent_labels_cover_every_business_intent(domain) -> None:
    chitchat = {"greet", "goodbye", "thank", "affirm", "deny", "bot_challenge", "out_of_scope", "inform"}
    button_only = {"kb_choose_article", "kb_feedback", "rate_service", "handoff_ended"}
    business = set(domain["intents"]) - chitchat - button_only
    assert business == set(messages("intent_labels"))


def test_messages_use_only_known_placeholders() -> None:
    allowed = {"limit", "amount", "payee", "tail", "days", "open", "close", "topic", "time", "branch"}
    allowed |= {"name", "reference", "advisor", "slots"}
    for section in ("transfer", "card_freeze", "appointment", "low_confidence"):
        for key, text in messages(section).items():
            assert _placeholders(text) <= allowed, (section, key)


def test_account_messages_use_only_known_placeholders() -> None:
    allowed = {"name", "tail", "tails", "card", "kind", "limit", "index", "number", "currency", "balance"}
    allowed |= {"text", "scope", "count", "time", "counterparty", "aside", "amount", "days", "period"}
    allowed |= {"payee"}
    for key, text in messages("accounts").items():
        assert _placeholders(text) <= allowed, key


def test_policy_values_are_sane() -> None:
    assert policy("transfer", "max_single_amount") > 0
    assert 0 <= policy("appointment", "opening_hour") < policy("appointment", "closing_hour") <= 24
    assert policy("accounts", "history_days") > 0
    assert 0 < policy("accounts", "transactions_shown") < 100  # the profile service lists up to 100
    assert likely_topics([]) == []
