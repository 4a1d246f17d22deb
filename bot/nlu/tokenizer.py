"""jieba tokenisation that survives mixed Chinese/English/digit text."""

from __future__ import annotations

from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.training_data.message import Message


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True
)
class BankJiebaTokenizer(JiebaTokenizer):
    """``JiebaTokenizer`` without whitespace tokens.

    jieba returns the spaces in "转账 500 to 张三" as tokens; Rasa's featurizers drop
    them again, and the mismatch between token and feature counts crashes DIET
    (RasaHQ/rasa#7910). Dropping them here keeps every later component consistent.
    """

    def tokenize(self, message: Message, attribute: str) -> List[Token]:
        return [token for token in super().tokenize(message, attribute) if token.text.strip()]
