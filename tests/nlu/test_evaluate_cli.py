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
    ("", "oos"), ("🙂🙂🙂", "oos"), ("Где мой заказ? Я жду уже неделю", "oos"),
    ("x" * 4000, "oos"),
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
    assert by_text["Где мой заказ? Я жду уже неделю"]["reason"] == "language"
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


ZH_INTENTS = {
    "track_order": ["我的订单到哪了", "帮我查一下快递", "包裹发货了吗", "订单什么时候到",
                    "查订单状态", "快递怎么还没到", "我的包裹在哪里", "物流信息在哪看"],
    "refund": ["我想退款", "退款多久到账", "怎么申请退款", "钱什么时候退给我",
               "退款进度怎么查", "可以退钱吗", "退货以后怎么退款", "退款到哪个账户"],
    "reset_password": ["忘记密码了", "怎么重置密码", "登录不了", "密码不对",
                       "改密码", "账号被锁了", "收不到重置密码的邮件", "找回密码"],
    "opening_hours": ["你们几点开门", "营业时间是什么", "周末营业吗", "几点关门",
                      "今天开门吗", "客服几点上班", "节假日营业吗", "晚上几点下班"],
}


def test_chinese_data_is_evaluated_with_the_multilingual_encoder(tmp_path):
    train = _write_csv(tmp_path / "zh_train.csv",
                       [(t, label) for label, texts in ZH_INTENTS.items() for t in texts])
    test = _write_csv(tmp_path / "zh_test.csv", [
        ("我的快递到哪里了？", "track_order"), ("退款什么时候能到", "refund"),
        ("我忘了登录密码", "reset_password"), ("今天天气怎么样", "oos")])
    out = tmp_path / "zh.json"
    result = CliRunner().invoke(main, ["nlu", "evaluate", "--train", str(train), "--test",
                                       str(test), "--oos-label", "oos", "--json", str(out),
                                       "--encoder", "multilingual-e5-small"])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert not any(p["reason"] == "language" for p in report["predictions"])
    predicted = {p["text"]: p["predicted"] for p in report["predictions"]}
    assert predicted["我的快递到哪里了？"] == "track_order"
    assert predicted["退款什么时候能到"] == "refund"
