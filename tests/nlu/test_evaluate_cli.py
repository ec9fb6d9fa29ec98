"""`tandem nlu evaluate` and `tandem nlu calibrate` end to end on a tiny data set."""

import csv
import json
from itertools import pairwise

import pytest
from click.testing import CliRunner

from app.cli import main

INTENTS = {
    "track_order": ["where is my order", "track my package", "has my parcel shipped",
                    "when will my order arrive", "order status please", "my delivery is late",
                    "where's my package", "status of my shipment"],
    "reset_password": ["I forgot my password", "reset my password", "can't log in",
                       "password reset link", "change my password", "locked out of my account",
                       "how do I recover my login", "my password doesn't work"],
    "opening_hours": ["when are you open", "opening hours", "what time do you close",
                      "are you open on sunday", "store hours", "what are your hours",
                      "when does the shop open", "are you open today"],
    "refund": ["I want my money back", "refund my purchase", "how do refunds work",
               "get a refund", "return for a refund", "when will I get my refund",
               "refund status", "can I be refunded"],
}
TEST_ROWS = [
    ("where is my parcel right now", "track_order"),
    ("I need to reset my password", "reset_password"),
    ("what time do you open tomorrow", "opening_hours"), ("please refund my order", "refund"),
    ("what is the capital of France", "oos"), ("play some jazz music", "oos"),
    ("", "oos"), ("🙂🙂🙂", "oos"), ("我的订单在哪里", "oos"), ("x" * 4000, "oos"),
]
KEYS = ["in_scope_accuracy", "oos_recall", "oos_precision", "macro_f1", "answered_share",
        "wrong_answer_rate", "correct_automation", "thresholds", "risk_coverage", "predictions"]


def _write_csv(path, rows):
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nlu")
    train = _write_csv(folder / "train.csv",
                       [(t, label) for label, texts in INTENTS.items() for t in texts])
    return train, _write_csv(folder / "test.csv", TEST_ROWS), folder


def test_evaluate_writes_the_report_and_plot(files):
    train, test, folder = files
    out, plot = folder / "report.json", folder / "rc.png"
    result = CliRunner().invoke(main, ["nlu", "evaluate", "--train", str(train), "--test",
                                       str(test), "--oos-label", "oos", "--json", str(out),
                                       "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert list(report) == KEYS
    assert len(report["predictions"]) == len(TEST_ROWS)
    row = report["predictions"][0]
    assert set(row) == {"text", "label", "predicted", "confidence", "decision", "reason"}
    assert all(p["decision"] in {"answer", "clarify", "handoff"} for p in report["predictions"])
    # Robustness: empty and non-English rows are handed off, with the reason why.
    by_text = {p["text"]: p for p in report["predictions"]}
    assert by_text[""]["decision"] == "handoff"
    assert by_text["我的订单在哪里"]["reason"] == "language"
    assert 0 <= report["in_scope_accuracy"] <= 1 and report["oos_recall"] >= 0.5
    assert report["thresholds"]["max_wrong_answer_rate"] == 0.1
    curve = report["risk_coverage"]
    assert curve[-1]["coverage"] == 1.0
    assert all(a["coverage"] <= b["coverage"] for a, b in pairwise(curve))
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_evaluate_accepts_rasa_yaml_and_rejects_a_bad_csv(files, tmp_path):
    _, test, _ = files
    rasa = tmp_path / "nlu.yml"
    rasa.write_text('version: "3.1"\nnlu:\n' + "".join(
        f"- intent: {label}\n  examples: |\n" + "".join(f"    - {t}\n" for t in texts)
        for label, texts in INTENTS.items()))
    out = tmp_path / "r.json"
    result = CliRunner().invoke(main, ["nlu", "evaluate", "--train", str(rasa), "--test",
                                       str(test), "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["oos_recall"] is None  # no --oos-label given

    bad = tmp_path / "bad.csv"
    bad.write_text("sentence,intent\nhi,greet\n")
    result = CliRunner().invoke(main, ["nlu", "evaluate", "--train", str(bad), "--test",
                                       str(test), "--json", str(out)])
    assert result.exit_code != 0 and "text,label" in result.output


def test_calibrate_writes_thresholds_and_keeps_hand_set_entries(files, tmp_path):
    import yaml

    train, _, _ = files
    out = tmp_path / "thresholds.yml"
    out.write_text("overrides:\n  complain:\n    handoff: true\nkb_answer: 0.55\n")
    result = CliRunner().invoke(main, ["nlu", "calibrate", "--data", str(train),
                                       "--max-wrong-answer-rate", "0.05", "--folds", "3",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = yaml.safe_load(out.read_text())
    assert 0 < written["nlu_confidence"] <= 1
    assert written["max_wrong_answer_rate"] == 0.05
    assert written["overrides"] == {"complain": {"handoff": True}} and written["kb_answer"] == 0.55

    from nlu.handoff_policy import Thresholds

    assert Thresholds.load(out).nlu_confidence == written["nlu_confidence"]
