// The label step after Solve (agent_console/static/labelling_state.js): typing filters the
// intents, Up/Down move the highlight, Enter saves it, O saves "out of scope".
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  MAX_SHOWN, chosen, filterIntents, firstShown, guessText, labelBody, mayOffer, moveHighlight,
  panelFor, startsTypeahead
} from "../../agent_console/static/labelling_state.js";

const form = { ticket_id: 8, intents: ["request_human", "ask_shipping", "shipping_cost", "ask_returns"] };

describe("label step", () => {
  it("is offered only for tickets that were with the bot", () => {
    assert.equal(mayOffer({ reason: "customer_request" }), true);
    assert.equal(mayOffer({ reason: "agent_opened" }), false);
    assert.equal(mayOffer({ reason: "email" }), false);
    assert.equal(mayOffer(null), false);
  });

  it("starts on the server's first intent (the bot's guess)", () => {
    const panel = panelFor(form);
    assert.equal(panel.ticketId, 8);
    assert.equal(chosen(panel), "request_human");
  });

  it("puts intents starting with the typed text before those containing it", () => {
    const panel = filterIntents(panelFor(form), "ship");
    assert.deepEqual(panel.shown, ["shipping_cost", "ask_shipping"]);
    assert.equal(chosen(panel), "shipping_cost");
    assert.deepEqual(filterIntents(panelFor(form), "Ask Sh").shown, ["ask_shipping"]);
    assert.deepEqual(filterIntents(panelFor(form), "zzz").shown, []);
    assert.equal(chosen(filterIntents(panelFor(form), "zzz")), "");
  });

  it("moves the highlight round the list", () => {
    let panel = panelFor(form);
    panel = moveHighlight(panel, -1);
    assert.equal(chosen(panel), "ask_returns");
    panel = moveHighlight(moveHighlight(panel, 1), 1);
    assert.equal(chosen(panel), "ask_shipping");
    const empty = filterIntents(panelFor(form), "zzz");
    assert.equal(moveHighlight(empty, 1), empty);
  });

  it("keeps the highlight in the window of shown intents", () => {
    const many = panelFor({ ticket_id: 1, intents: Array.from({ length: 20 }, (_, i) => "intent_" + i) });
    assert.equal(firstShown(many), 0);
    assert.equal(firstShown({ ...many, index: MAX_SHOWN - 1 }), 0);
    assert.equal(firstShown({ ...many, index: MAX_SHOWN }), 1);
    assert.equal(firstShown({ ...many, index: 19 }), 12);
  });

  it("starts the typeahead with a plain letter only", () => {
    assert.equal(startsTypeahead({ key: "a" }), true);
    assert.equal(startsTypeahead({ key: "_" }), true);
    assert.equal(startsTypeahead({ key: "a", ctrlKey: true }), false);
    assert.equal(startsTypeahead({ key: "ArrowDown" }), false);
    assert.equal(startsTypeahead({ key: "!" }), false);
  });

  it("saves the highlighted intent, or out of scope, with the chosen article", () => {
    const panel = filterIntents(panelFor(form), "ask_sh");
    assert.deepEqual(labelBody(panel, false, "12"), { intent: "ask_shipping", out_of_scope: false, article_id: 12 });
    assert.deepEqual(labelBody(panel, true, ""), { intent: null, out_of_scope: true, article_id: null });
    assert.match(labelBody(filterIntents(panel, "zzz"), false, "").error, /press O/);
  });

  it("says what the bot guessed", () => {
    assert.equal(guessText({ predicted_intent: "request_human", predicted_confidence: 0.724 }), "Bot's guess: request_human (72%)");
    assert.equal(guessText({ predicted_intent: "x", predicted_confidence: null }), "Bot's guess: x");
    assert.equal(guessText({}), "The bot had no guess.");
  });
});
