// The agent console's decisions (agent_console/static/console_state.js): what a ticket's
// allowed_actions offer, the composer's mode, the status picker, the queue keys, the "/"
// canned menu, history lines and live events.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  allows, cannedMatches, cannedQuery, composerMode, composerView, eventEffects, hasComposer,
  headActions, historyLines, insertText, reasonLine, replyBody, shortcutFor, statusChoices,
  stepTarget, timeline, wrapIndex
} from "../../agent_console/static/console_state.js";

// The server's table (handoff/lifecycle.py TRANSITIONS), as the page embeds it.
const TRANSITIONS = {
  new: ["on_hold", "open", "pending", "solved"], open: ["new", "on_hold", "pending", "solved"],
  pending: ["on_hold", "open", "solved"], on_hold: ["open", "pending", "solved"],
  solved: ["closed", "new", "open"], closed: []
};

const ticket = (status, actions, extra = {}) => ({ id: 1, status, allowed_actions: actions, ...extra });

describe("the ticket's allowed_actions decide what the console offers", () => {
  it("reads an action from the list only", () => {
    assert.equal(allows(ticket("open", ["note", "reply"]), "reply"), true);
    assert.equal(allows(ticket("open", ["note"]), "reply"), false);
    assert.equal(allows(ticket("open", undefined), "note"), false);
    assert.equal(allows(null, "note"), false);
  });

  it("shows Claim and Solve as the server allows them, whatever the status", () => {
    assert.deepEqual(headActions(ticket("new", ["note", "reply", "claim", "solve", "merge"])).map((a) => a.id), ["claim", "solve"]);
    // Someone else's open ticket: notes only, so no Solve button.
    assert.deepEqual(headActions(ticket("open", ["note"])), []);
    assert.deepEqual(headActions(ticket("pending", ["note", "reply", "solve", "merge"])).map((a) => a.id), ["solve"]);
    assert.deepEqual(headActions(ticket("solved", ["note", "reply", "close", "reopen", "merge"])), []);
  });

  it("keeps a composer while a note or a reply is allowed (a closed ticket still takes notes)", () => {
    assert.equal(hasComposer(ticket("closed", ["note"])), true);
    assert.equal(hasComposer(ticket("open", [])), false);
  });

  it("opens in reply mode only where replying is allowed", () => {
    assert.equal(composerMode(ticket("new", ["note", "reply", "claim"]), "reply"), "reply");
    assert.equal(composerMode(ticket("open", ["note"]), "reply"), "note");
    assert.equal(composerMode(ticket("open", ["note", "reply"]), "note"), "note");
    assert.equal(composerMode(ticket("open", []), "reply"), null);
  });

  it("disables the reply tab with a hint when replying is not allowed", () => {
    const readOnly = composerView(ticket("open", ["note"]), "note");
    assert.equal(readOnly.replyDisabled, true);
    assert.equal(readOnly.replyTitle, "Claim the ticket to reply");
    assert.equal(readOnly.send, "Add note");
    assert.equal(readOnly.showThen, false);
    const reply = composerView(ticket("open", ["note", "reply"]), "reply");
    assert.equal(reply.replyDisabled, false);
    assert.equal(reply.send, "Send");
    assert.equal(reply.showThen, true);
    assert.match(reply.placeholder, /Reply to the customer/);
  });

  it("offers the transition table's moves, less those the actions rule out", () => {
    const values = (t) => statusChoices(t, TRANSITIONS).map((c) => c.value);
    assert.deepEqual(values(ticket("open", ["note", "reply", "solve"])), ["open", "new", "on_hold", "pending", "solved"]);
    assert.deepEqual(values(ticket("open", ["note"])), ["open", "new", "on_hold", "pending"]);
    assert.deepEqual(values(ticket("solved", ["note", "reply", "close", "reopen"])), ["solved", "closed", "new", "open"]);
    assert.deepEqual(values(ticket("solved", ["note"])), ["solved"]);
    assert.deepEqual(values(ticket("closed", ["note"])), ["closed"]);
    assert.equal(statusChoices(ticket("pending", ["solve"]), TRANSITIONS)[0].label, "Pending (on customer)");
  });
});

describe("queue keys", () => {
  const tickets = [{ id: 10 }, { id: 11 }, { id: 12 }];

  it("steps through the queue and stops at its ends", () => {
    assert.equal(stepTarget(tickets, 10, 1), 11);
    assert.equal(stepTarget(tickets, 12, 1), 12);
    assert.equal(stepTarget(tickets, 10, -1), 10);
  });

  it("starts at the first (j) or last (k) row when no ticket of the list is open", () => {
    assert.equal(stepTarget(tickets, null, 1), 10);
    assert.equal(stepTarget(tickets, 99, -1), 12);
    assert.equal(stepTarget([], null, 1), null);
  });

  it("maps the shortcuts", () => {
    assert.deepEqual(shortcutFor("j"), { action: "step", offset: 1 });
    assert.deepEqual(shortcutFor("k"), { action: "step", offset: -1 });
    assert.deepEqual(shortcutFor("2"), { action: "view", view: "mine" });
    assert.deepEqual(shortcutFor("c"), { action: "claim" });
    assert.deepEqual(shortcutFor("r"), { action: "focus-reply" });
    assert.deepEqual(shortcutFor("?"), { action: "help" });
    assert.equal(shortcutFor("x"), null);
  });
});

describe("canned responses", () => {
  const canned = [
    { id: 1, shortcut: "looking", title: "Looking into it" },
    { id: 2, shortcut: "refund", title: "Refund on its way" },
    { id: 3, shortcut: "thanks", title: "Thank you, looking forward" }
  ];

  it("finds the /word just before the caret", () => {
    assert.deepEqual(cannedQuery("/Loo", 4), { text: "loo", start: 0 });
    assert.deepEqual(cannedQuery("Hi /re and", 6), { text: "re", start: 3 });
    assert.equal(cannedQuery("http://x", 8), null);
    assert.equal(cannedQuery("no slash", 8), null);
  });

  it("matches shortcuts by prefix and titles by substring", () => {
    assert.deepEqual(cannedMatches(canned, { text: "loo" }).map((c) => c.id), [1, 3]);
    assert.deepEqual(cannedMatches(canned, { text: "ref" }).map((c) => c.id), [2]);
    assert.deepEqual(cannedMatches(canned, null), []);
    const many = Array.from({ length: 12 }, (_, i) => ({ id: i, shortcut: "s" + i, title: "t" }));
    assert.equal(cannedMatches(many, { text: "s" }).length, 8);
  });

  it("replaces the /word with the response and puts the caret after it", () => {
    const value = "Hi /loo!";
    const result = insertText(value, 7, cannedQuery(value, 7), "Looking now.");
    assert.deepEqual(result, { value: "Hi Looking now.!", caret: 15 });
    assert.deepEqual(insertText("ab", 1, null, "X"), { value: "aXb", caret: 2 });
  });

  it("wraps the menu's selection round", () => {
    assert.equal(wrapIndex(0, -1, 3), 2);
    assert.equal(wrapIndex(2, 1, 3), 0);
    assert.equal(wrapIndex(0, 1, 0), 0);
  });
});

describe("the ticket view", () => {
  it("says why a ticket came and who has it", () => {
    const handoff = { reason: "customer_request", detected_intent: "ask_shipping", intent_confidence: 0.42, channel: "widget", team_name: "General", assignee_name: null };
    assert.equal(reasonLine(handoff, {}), "Hand-off: customer request · intent ask_shipping (42% confidence) · widget · team General · unassigned");
    const opened = { reason: "agent_opened", channel: null, assignee_name: "Alex Agent" };
    assert.equal(reasonLine(opened, { channel: "email" }), "Opened: agent opened · email · assigned to Alex Agent");
  });

  it("merges messages and notes oldest first", () => {
    const items = timeline(
      [{ id: 1, created_at: "2026-01-01T10:00:00Z" }, { id: 2, created_at: "2026-01-01T10:05:00Z" }],
      [{ id: 9, created_at: "2026-01-01T10:02:00Z" }]);
    assert.deepEqual(items.map((i) => i.kind + i.item.id), ["message1", "note9", "message2"]);
  });

  it("adds the status to a reply only when one is chosen", () => {
    assert.deepEqual(replyBody("Hello", ""), { text: "Hello" });
    assert.deepEqual(replyBody("Hello", "solved"), { text: "Hello", status: "solved" });
  });

  it("writes history as one line per changed field, ids by name", () => {
    const directory = { agents: [{ id: 4, display_name: "Alex Agent" }], teams: [{ id: 2, name: "Billing" }] };
    assert.deepEqual(historyLines({ action: "status", before: "new", after: "on_hold" }, directory), ["new → on hold"]);
    assert.deepEqual(historyLines({ action: "assigned", before: { assignee_id: null, team_id: 2 }, after: { assignee_id: 4, team_id: 2 } }, directory),
      ["assignee: — → Alex Agent"]);
    assert.deepEqual(historyLines({ action: "transferred", before: { team_id: 2 }, after: { team_id: 7, note: "vip" } }, directory),
      ["team: Billing → #7", "note: vip"]);
    assert.deepEqual(historyLines({ action: "claimed", before: null, after: null }, directory), []);
  });
});

describe("live events", () => {
  const current = { id: 5, conversation_id: "c5" };
  const queue = [{ id: 5, conversation_id: "c5" }, { id: 6, conversation_id: "c6" }];

  it("adds a message to the open ticket and re-reads the queue when it lists the conversation", () => {
    assert.deepEqual(eventEffects({ type: "message.created", conversation_id: "c5", message: { sender_type: "customer" } }, current, queue, 1),
      ["add-message", "typing-stopped", "reload-queue"]);
    assert.deepEqual(eventEffects({ type: "message.created", conversation_id: "c6", message: { sender_type: "agent" } }, current, queue, 1),
      ["reload-queue"]);
    assert.deepEqual(eventEffects({ type: "message.created", conversation_id: "c9", message: {} }, current, queue, 1), []);
  });

  it("re-reads the open ticket only when the event is about it", () => {
    assert.deepEqual(eventEffects({ type: "ticket.updated", ticket_id: 5 }, current, queue, 1), ["reload-queue", "reload-ticket"]);
    assert.deepEqual(eventEffects({ type: "ticket.updated", ticket_id: 6 }, current, queue, 1), ["reload-queue"]);
    assert.deepEqual(eventEffects({ type: "queue.changed" }, null, queue, 1), ["reload-queue"]);
  });

  it("follows notes, typing, notifications and the agent's own presence", () => {
    assert.deepEqual(eventEffects({ type: "note.created", ticket_id: 5 }, current, queue, 1), ["add-note"]);
    assert.deepEqual(eventEffects({ type: "note.created", ticket_id: 6 }, current, queue, 1), []);
    assert.deepEqual(eventEffects({ type: "typing", sender_type: "customer", conversation_id: "c6" }, current, queue, 1), ["customer-typing"]);
    assert.deepEqual(eventEffects({ type: "typing", sender_type: "agent", conversation_id: "c6" }, current, queue, 1), []);
    assert.deepEqual(eventEffects({ type: "notification" }, current, queue, 1), ["reload-notifications"]);
    assert.deepEqual(eventEffects({ type: "presence.changed", user_id: 1 }, current, queue, 1), ["own-presence"]);
    assert.deepEqual(eventEffects({ type: "presence.changed", user_id: 2 }, current, queue, 1), []);
  });
});
