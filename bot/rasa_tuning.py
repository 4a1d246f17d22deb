"""Hot spots of the Rasa 3.6 server fixed without changing what it does; applied by ``bot.masked_logs``
in the Rasa server's process.

Rasa checks every action server response with ``jsonschema.validate(response, schema)``, which first
validates the *schema* against the draft 2020-12 meta-schema: the same constant schema, re-checked
for each response, through the meta-schema's slow ``$dynamicRef`` resolution. py-spy on the bare
Rasa server (2 CPUs, sequential messages) put 60 % of its CPU time there. The schema is checked
once here and the compiled validator reused; a response it rejects still goes to Rasa's own method,
so invalid responses fail exactly as before, with Rasa's message.
"""

from __future__ import annotations

from typing import Any

from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction


def check_action_responses_with_one_validator() -> None:
    if getattr(RemoteAction._validate_action_result, "tuned", False):
        return
    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    rasa_validation = RemoteAction._validate_action_result

    def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        return validator.is_valid(result) or rasa_validation(self, result)

    validate_action_result.tuned = True  # type: ignore[attr-defined]
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]


def tune() -> None:
    check_action_responses_with_one_validator()
