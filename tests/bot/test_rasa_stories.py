"""The demo bot's conversation tests (`rasa test` on bot/rasa/tests) against a trained model."""

import json
import os
import subprocess

import pytest

from bot.training import RASA_PROJECT, rasa_executable, train
from core.settings import PROJECT_ROOT, get_settings

pytestmark = pytest.mark.rasa


@pytest.mark.timeout(1800)  # a cold `rasa train` plus `rasa test` on a busy 2-core machine
def test_rasa_conversation_tests_pass(tmp_path):
    model, _ = train()  # cached by training-data fingerprint
    out = tmp_path / "results"
    env = {**os.environ, "RASA_CACHE_DIRECTORY": str(get_settings().data_dir / "rasa-cache")}
    completed = subprocess.run(
        [str(rasa_executable()), "test", "core", "--model", str(model),
         "--stories", str(RASA_PROJECT / "tests"), "--out", str(out),
         "--fail-on-prediction-errors"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    failed = out / "failed_test_stories.yml"
    details = failed.read_text() if failed.exists() else completed.stdout[-3000:]
    assert completed.returncode == 0, completed.stderr[-3000:] + details
    report = json.loads((out / "story_report.json").read_text())
    assert report["weighted avg"]["f1-score"] == 1.0
