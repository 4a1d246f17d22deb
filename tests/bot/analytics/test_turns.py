"""What the reporting reads from a conversation's tracker events (bot/analytics/turns.py)."""

from bot.analytics.turns import SessionStart, Turn, read_conversation
from tests.bot.analytics.scripted import DAY, Script, kb


def turns_of(script: Script) -> list[Turn]:
    return [
        item for item in read_conversation(script.sender, script.as_dicts()).items if isinstance(item, Turn)
    ]


def test_a_turn_carries_nlu_sentiment_actions_and_the_knowledge_base_outcome() -> None:
    script = Script("c1").session()
    script.says("信用卡年费怎么收", "interest_and_fees", 0.97, ("negative", 0.7))
    script.bot("action_search_knowledge_base", seconds=0.2, **kb("confident", "fees-001")).listens()
    reading = read_conversation("c1", script.as_dicts())
    assert isinstance(reading.items[0], SessionStart) and reading.items[0].at > DAY
    (turn,) = [i for i in reading.items if isinstance(i, Turn)]
    assert (turn.text, turn.intent, turn.confidence) == ("信用卡年费怎么收", "interest_and_fees", 0.97)
    assert (turn.sentiment, turn.sentiment_score, turn.channel) == ("negative", 0.7, "rest")
    assert turn.actions == ["action_search_knowledge_base"]
    assert (turn.kb_outcome, turn.kb_article, turn.answered) == ("confident", "fees-001", True)
    assert 200 < turn.response_ms < 300  # from the gateway's receipt, 10 ms before Rasa's user event
    assert reading.open_turn is None


def test_unanswered_means_no_fitting_article_or_a_fallback_without_one() -> None:
    script = Script("c2").session()
    script.says("数字人民币能用吗", "interest_and_fees").bot(
        "action_search_knowledge_base", **kb("none")
    ).listens()
    script.says("asdfgh", "nlu_fallback", 0.2).bot("action_handle_low_confidence").listens()
    script.says("提前还款", "nlu_fallback", 0.3).bot(
        "action_handle_low_confidence", **kb("confident", "loans-003")
    ).listens()
    script.says("理财有哪些", "wealth_product_inquiry").bot(
        "action_search_knowledge_base", **kb("ambiguous")
    ).listens()
    assert [t.answered for t in turns_of(script)] == [False, False, True, True]


def test_votes_ratings_handoffs_and_a_verified_customer_are_noted() -> None:
    script = Script("c3").session()
    vote = [{"entity": "kb_article", "value": "fees-001"}, {"entity": "kb_helpful", "value": "no"}]
    script.says("/kb_feedback", "kb_feedback", entities=vote).bot("action_record_kb_feedback").listens()
    script.says("转人工", "request_human").bot(
        "action_handoff_to_human", handoff={"reason": "customer_request"}
    )
    script.listens()
    script.says(
        "在吗", "", to_agent=True
    )  # while an agent serves: a turn of its own, never answered by the bot
    script.says("5", "rate_service", entities=[{"entity": "rating", "value": "5"}]).bot(
        "action_record_rating"
    )
    script.listens()
    script.says("13900000001", "inform").slot("verified_customer_no", "C000001").bot(
        "utter_verified"
    ).listens()
    vote_turn, handoff, to_agent, rating, verified = turns_of(script)
    assert (vote_turn.kb_vote, vote_turn.kb_article) == ("no", "fees-001")
    assert handoff.handoff_reason == "customer_request"
    assert to_agent.to_agent and to_agent.answered and to_agent.response_ms is None
    assert rating.rating == 5
    assert verified.customer_no == "C000001"


def test_a_turn_in_progress_is_held_back_with_where_it_began() -> None:
    script = Script("c4").session()
    script.says("你好", "greet").bot("utter_greet").listens()
    script.says("查余额", "check_balance").bot("action_begin_request")  # no action_listen yet
    reading = read_conversation("c4", script.as_dicts())
    assert [t.text for t in reading.items if isinstance(t, Turn)] == ["你好"]
    assert reading.open_turn.text == "查余额"
    assert reading.open_from == 8  # the user event: 3 session events, 4 of the first turn, then it


def test_a_rating_outside_one_to_five_is_ignored() -> None:
    script = Script("c5").session()
    script.says("9", "rate_service", entities=[{"entity": "rating", "value": "9"}]).bot(
        "action_record_rating"
    )
    script.listens()
    assert turns_of(script)[0].rating is None
