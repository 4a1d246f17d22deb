from rasa_sdk.executor import ActionExecutor


def test_action_server_serves_exactly_the_domain_actions(domain) -> None:
    executor = ActionExecutor()
    executor.register_package("actions")
    forms_validated = {f"validate_{form}" for form in domain["forms"]}
    assert set(executor.actions) == set(domain["actions"]) | forms_validated
