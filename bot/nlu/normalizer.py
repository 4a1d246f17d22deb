"""Rasa component that puts customer text into canonical form before tokenisation."""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_VALUE,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.text import normalize


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class TextNormalizer(GraphComponent):
    """Full-width → half-width, traditional → simplified, lower-case Latin.

    Placed first in the pipeline so that jieba, the regex/lookup features and the
    count vectors all see ``５００元`` as ``500元`` and ``帳戶`` as ``账户``. The mapping keeps
    every character's position, so entity offsets in training data stay valid.
    """

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> TextNormalizer:
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for message in training_data.training_examples:
            self._normalize_entity_values(message)
        self.process(training_data.training_examples)
        return training_data

    @staticmethod
    def _normalize_entity_values(message: Message) -> None:
        """An annotation like ``[５００](amount)`` must become value "500" with its text;
        left as "５００" the synonym mapper would learn to turn every "500" into "５００"."""
        text = message.get(TEXT)
        for entity in message.get(ENTITIES) or []:
            span = text[entity[ENTITY_ATTRIBUTE_START] : entity[ENTITY_ATTRIBUTE_END]]
            if entity.get(ENTITY_ATTRIBUTE_VALUE) == span:
                entity[ENTITY_ATTRIBUTE_VALUE] = normalize(span)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if isinstance(text, str) and text:
                message.set(TEXT, normalize(text))
        return messages
