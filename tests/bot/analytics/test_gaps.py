"""Knowledge gaps: which turns are gaps, grouping by meaning with the real encoder, article drafts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from bot.analytics.gaps import clusters, draft_article, drafted, gap_reason, knowledge_gaps, load_gap_config
from bot.analytics.measures import Scope
from bot.analytics.models import ReportConversation, ReportTurn
from knowledge_base.articles import load_articles
from knowledge_base.index import embed

AT = dt.datetime(2026, 12, 1, 4, 0, tzinfo=dt.timezone.utc)


def turn(text: str, answered: bool = True, kb_outcome: str | None = None, **fields) -> ReportTurn:
    return ReportTurn(text=text, answered=answered, kb_outcome=kb_outcome, to_agent=False, at=AT, **fields)


def test_which_turns_are_gaps() -> None:
    voted_down = {(1, "fees-001")}
    assert gap_reason(turn("数字人民币", answered=False), voted_down) == "unanswered"
    assert gap_reason(turn("手续费多少", kb_outcome="ambiguous"), voted_down) == "ambiguous"
    assert gap_reason(turn("年费", kb_article="fees-001", conversation_id=1), voted_down) == "not_useful"
    assert gap_reason(turn("年费", kb_article="fees-001", conversation_id=2), voted_down) is None
    assert (
        gap_reason(turn("/kb_feedback", answered=False, intent="kb_feedback"), voted_down) is None
    )  # a click
    assert gap_reason(ReportTurn(text="在吗", answered=True, to_agent=True), voted_down) is None


def test_paraphrases_group_together_and_other_needs_apart(kb_retriever) -> None:
    texts = [
        "你们支持数字人民币吗",
        "能开数字人民币钱包吗",
        "数字人民币怎么开通",
        "境外取现手续费多少",
        "境外ATM取现手续费是多少",
    ]
    labels = clusters(embed(kb_retriever.index.model, texts), load_gap_config().link_similarity)
    assert labels[0] == labels[1] == labels[2]
    assert labels[3] == labels[4] != labels[0]


def test_gaps_of_a_period_with_the_closest_article(sessions, kb_retriever) -> None:
    with sessions.begin() as session:
        talk = ReportConversation(conversation="x", channel="rest", started_at=AT, last_at=AT, turns=3)
        session.add(talk)
        session.flush()
        for n, text in enumerate(("你们支持数字人民币吗", "能开数字人民币钱包吗", "你们支持数字人民币吗")):
            session.add(
                turn(
                    text,
                    answered=False,
                    conversation_id=talk.id,
                    message_id=f"m{n}",
                    channel="rest",
                    intent="nlu_fallback",
                )
            )
    with sessions() as session:
        found = knowledge_gaps(session, Scope(AT.date(), AT.date()), kb_retriever)
    (group,) = found["groups"]
    assert group["asked"] == 3 and group["distinct_questions"] == 2
    assert group["examples"][0] == {"text": "你们支持数字人民币吗", "asked": 2}
    assert group["reasons"] == {"unanswered": 3} and group["closest_article"]["id"]


def test_a_draft_is_an_article_once_the_editor_completes_it(tmp_path: Path) -> None:
    group = {
        "id": "abc123def456",
        "asked": 5,
        "distinct_questions": 3,
        "examples": [
            {"text": "你们支持数字人民币吗", "asked": 3},
            {"text": "能开数字人民币钱包吗", "asked": 1},
            {"text": "数字人民币怎么开通", "asked": 1},
            {"text": "数字人民币在哪开", "asked": 1},
        ],
        "intents": {"nlu_fallback": 4, "open_account": 1},
        "closest_article": {"id": "account-002"},
    }
    path = draft_article(group, tmp_path / "drafts", dt.date(2026, 12, 7))
    assert drafted(tmp_path / "drafts") == {"abc123def456"}
    draft = yaml.safe_load(path.read_text(encoding="utf-8"))["articles"][0]
    assert draft["question"] == "你们支持数字人民币吗" and draft["category"] == "open_account"
    assert draft["similar_questions"] == ["能开数字人民币钱包吗", "数字人民币怎么开通", "数字人民币在哪开"]
    draft.update(id="account-099", answer="您可以在星海手机银行开通数字人民币钱包。")
    (tmp_path / "articles").mkdir()
    (tmp_path / "articles" / "new.yml").write_text(
        yaml.safe_dump({"articles": [draft]}, allow_unicode=True), encoding="utf-8"
    )
    (article,) = load_articles(tmp_path / "articles")
    assert article.id == "account-099"
    path.write_text("# the editor's work\n", encoding="utf-8")
    assert (
        draft_article(group, tmp_path / "drafts", dt.date(2026, 12, 8)).read_text(encoding="utf-8")
        == "# the editor's work\n"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"link_similarity": 1.5}, "link_similarity"),
        ({"max_examples": 0}, "max_examples"),
        ({"min_questions": "2"}, "min_questions"),
    ],
)
def test_a_bad_gap_setting_is_named(tmp_path: Path, change: dict, message: str) -> None:
    settings = {"link_similarity": 0.9, "min_questions": 2, "max_examples": 6, "max_questions": 100, **change}
    path = tmp_path / "gaps.yml"
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_gap_config(path)
