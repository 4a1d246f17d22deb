import pytest
from jsonschema import ValidationError
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

from bot.rasa_tuning import check_action_responses_with_one_validator

VALID = {
    "events": [{"event": "slot", "name": "tier", "value": "vip"}],
    "responses": [{"text": "您好", "buttons": [{"title": "是", "payload": "/affirm"}]}],
}


@pytest.fixture(scope="module")
def action() -> RemoteAction:
    check_action_responses_with_one_validator()
    return RemoteAction("action_kb_answer", EndpointConfig("http://127.0.0.1:1/webhook"))


def test_a_valid_response_is_accepted_without_checking_the_schema_again(
    action: RemoteAction, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks = []
    schema_class = validator_for(RemoteAction.action_response_format_spec())
    monkeypatch.setattr(schema_class, "check_schema", classmethod(lambda cls, schema: checks.append(schema)))
    assert all(action._validate_action_result(VALID) for _ in range(20))
    assert checks == []


@pytest.mark.parametrize(
    "response",
    [
        {"events": [{"name": "tier"}]},  # an event without its type
        {"events": "not a list"},
        {"responses": ["text, not an object"]},
    ],
)
def test_an_invalid_response_fails_as_rasa_makes_it_fail(action: RemoteAction, response: dict) -> None:
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        action._validate_action_result(response)


def test_tuning_twice_keeps_one_wrapper(action: RemoteAction) -> None:
    tuned = RemoteAction._validate_action_result
    check_action_responses_with_one_validator()
    assert RemoteAction._validate_action_result is tuned
