"""Rasa component that adds ``sentiment`` ({"label", "score"}) to every parse result.

Trained in ``rasa train`` from ``data/sentiment/*.yml`` (``bot.sentiment``); set with
``add_to_output`` so ``/model/parse`` returns it and the tracker keeps it with each user turn,
where the escalation rules read it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.sentiment import SentimentModel, TrainingOptions, own_examples
from bot.settings import PROJECT_ROOT

SENTIMENT = "sentiment"
MODEL_DIR = "sentiment"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=True)
class SentimentAnalyzer(GraphComponent):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"data_dir": "data/sentiment", "ngram_size": 3, "epochs": 12}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: SentimentModel | None = None,
    ) -> None:
        self.config, self.model_storage, self.resource, self.model = config, model_storage, resource, model

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentimentAnalyzer:
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SentimentAnalyzer:
        with model_storage.read_from(resource) as directory:
            return cls(config, model_storage, resource, SentimentModel.load(directory / MODEL_DIR))

    def train(self, training_data: TrainingData) -> Resource:
        """Trains on the sentiment files, not on Rasa's NLU data (intents say nothing about feelings)."""
        folder = Path(self.config["data_dir"])
        examples = own_examples(folder if folder.is_absolute() else PROJECT_ROOT / folder)
        options = TrainingOptions(ngram_size=self.config["ngram_size"], epochs=self.config["epochs"])
        self.model = SentimentModel.train(examples, options)
        with self.model_storage.write_to(self.resource) as directory:
            self.model.save(directory / MODEL_DIR)
        return self.resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if self.model is not None and isinstance(text, str):
                message.set(SENTIMENT, self.model.predict(text).as_dict(), add_to_output=True)
        return messages
