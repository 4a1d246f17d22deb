"""`rasa data validate` finds nothing but the two intents that only buttons send (see domain.yml)."""

import re
import subprocess
import sys

import yaml

from bot.settings import PROJECT_ROOT

BUTTON_ONLY_INTENTS = ("kb_choose_article", "kb_feedback", "rate_service", "handoff_ended")


def test_rasa_data_validate_warns_only_about_button_only_intents() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rasa", "data", "validate"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    warnings = set(re.findall(r"UserWarning: (.*)", output))
    expected = {
        f"The intent '{intent}' is listed in the domain file, but is not found in the NLU training data."
        for intent in BUTTON_ONLY_INTENTS
    }
    assert warnings == expected


def test_button_only_intents_have_no_training_examples() -> None:
    """NLU must never predict them: a typed "有用" is not a vote for an unknown article."""
    nlu_files = (PROJECT_ROOT / "data" / "nlu").glob("*.yml")
    labelled = {block.get("intent") for f in nlu_files for block in yaml.safe_load(f.read_text())["nlu"]}
    assert labelled.isdisjoint(BUTTON_ONLY_INTENTS)
