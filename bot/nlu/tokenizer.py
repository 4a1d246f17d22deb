"""jieba tokenisation that survives mixed Chinese/English/digit text."""

from __future__ import annotations

import jieba
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.training_data.message import Message


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class BankJiebaTokenizer(JiebaTokenizer):
    """``JiebaTokenizer`` with two fixes for customer messages.

    - Whitespace tokens are dropped: jieba returns the spaces in "转账 500 to 张三" as
      tokens, Rasa's featurizers drop them again, and the mismatch between token and
      feature counts crashes DIET (RasaHQ/rasa#7910).
    - jieba's HMM new-word guessing is off: it glues unknown names to the next verb
      ("给张伟转500" → "张伟转"), so a payee entity could never end at the name. Known
      words still come from the dictionaries; unknown names become single characters,
      which DIET tags and Rasa joins back into one entity.
    """

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        text = message.get(attribute)
        tokens = [Token(word, start) for word, start, _ in jieba.tokenize(text, HMM=False)]
        return self._apply_token_pattern([t for t in tokens if t.text.strip()])
