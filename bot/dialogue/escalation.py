"""A Rasa policy that hands the conversation to a person when the escalation rules say so.

Rules and stories map intents to actions; they cannot count ("2 of the last 3 turns negative") or
read the sentiment of a turn. This policy does, after every user message, with the rules of
``bot.handoff.policy`` and the slot ``customer_tier`` (set once the customer is known). It outranks
RulePolicy (priority 7 > 6) so a handoff also interrupts an active form, and it predicts
``action_listen`` right after the handoff so nothing else is said. When it has nothing to say its
prediction is all zeros and the other policies decide.
"""

from __future__ import annotations

from typing import Any

from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from bot.handoff.policy import HANDOFF_ACTION, TIER_SLOT, escalation_policy, turns_since_handoff


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=False)
class EscalationPolicy(Policy):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"priority": 7}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> None:
        super().__init__(config, model_storage, resource, execution_context, **kwargs)
        self.rules = escalation_policy()

    def train(
        self, training_trackers: list[TrackerWithCachedStates], domain: Domain, **kwargs: Any
    ) -> Resource:
        return self._resource  # rule-based: nothing to learn

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        action = self._next_action(tracker)
        probabilities = self._default_predictions(domain)
        if action is not None:
            probabilities[domain.index_for_action(action)] = 1.0
        return self._prediction(probabilities)

    def _next_action(self, tracker: DialogueStateTracker) -> str | None:
        latest = tracker.latest_action_name
        if latest == HANDOFF_ACTION:
            return ACTION_LISTEN_NAME
        if latest != ACTION_LISTEN_NAME:
            return None
        turns = turns_since_handoff(event.as_dict() for event in tracker.events)
        escalation = self.rules.on_turn(turns, tracker.get_slot(TIER_SLOT))
        return HANDOFF_ACTION if escalation else None
