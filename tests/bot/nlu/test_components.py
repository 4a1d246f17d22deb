"""The custom NLU components on real Rasa messages (no model needed)."""

from __future__ import annotations

import jieba
import pytest
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.normalizer import TextNormalizer
from bot.nlu.tokenizer import BankJiebaTokenizer


def normalizer() -> TextNormalizer:
    return TextNormalizer.create({}, None, None, None)  # stateless: storage is not used


def tokenizer() -> BankJiebaTokenizer:
    config = {**BankJiebaTokenizer.get_default_config(), "dictionary_path": "data/dict"}
    return BankJiebaTokenizer(config, None, None)


def test_normalizer_rewrites_text_and_entity_values_consistently() -> None:
    message = Message(
        data={
            TEXT: "轉賬５００元",
            "intent": "transfer_money",
            ENTITIES: [{"start": 2, "end": 6, "value": "５００元", "entity": "amount"}],
        }
    )
    normalizer().process_training_data(TrainingData([message]))
    assert message.get(TEXT) == "转账500元"
    assert message.get(ENTITIES)[0]["value"] == "500元"


def test_normalizer_keeps_synonym_values() -> None:
    message = Message(
        data={
            TEXT: "换美金",
            "intent": "exchange_rate",
            ENTITIES: [{"start": 1, "end": 3, "value": "美元", "entity": "currency"}],
        }
    )
    normalizer().process_training_data(TrainingData([message]))
    assert message.get(ENTITIES)[0]["value"] == "美元"


def test_normalizer_at_inference() -> None:
    (message,) = normalizer().process([Message(data={TEXT: "ＡＴＭ吞卡"})])
    assert message.get(TEXT) == "atm吞卡"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("帮我给张伟转500块", ["帮", "我", "给", "张", "伟", "转", "500", "块"]),
        ("转账 500  to 张三", ["转账", "500", "to", "张", "三"]),
        ("用星海手机银行定投", ["用", "星海手机银行", "定投"]),
    ],
)
def test_tokenizer_drops_spaces_and_keeps_names_apart(text: str, expected: list) -> None:
    BankJiebaTokenizer._load_custom_dictionary("data/dict")
    tokens = tokenizer().tokenize(Message(data={TEXT: text}), TEXT)
    assert [t.text for t in tokens] == expected
    assert all(text[t.start : t.end] == t.text for t in tokens)


def test_whitespace_only_message_has_no_tokens() -> None:
    jieba.initialize()
    assert tokenizer().tokenize(Message(data={TEXT: "   "}), TEXT) == []
