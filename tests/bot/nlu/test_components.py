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


@pytest.mark.parametrize(
    ("text", "span", "value", "expected_text", "expected_value"),
    [
        ("轉賬５００元", (2, 6), "５００元", "转账500元", "500元"),  # value follows the text
        ("换美金", (1, 3), "美元", "换美金", "美元"),  # a synonym value is kept
    ],
)
def test_normalizer_rewrites_text_and_plain_entity_values(
    text: str, span: tuple, value: str, expected_text: str, expected_value: str
) -> None:
    entity = {"start": span[0], "end": span[1], "value": value, "entity": "x"}
    message = Message(data={TEXT: text, "intent": "any", ENTITIES: [entity]})
    normalizer().process_training_data(TrainingData([message]))
    assert message.get(TEXT) == expected_text
    assert message.get(ENTITIES)[0]["value"] == expected_value


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
