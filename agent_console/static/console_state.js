/* The agent console's decisions, apart from the DOM so tests/frontend can check them: which
 * actions a ticket offers, the composer's mode, the status picker's choices, moving through
 * the queue, the "/" canned-response menu, the transcript's order, history lines and what a
 * live event means for the page.
 *
 * What an agent may do to a ticket is the server's to say: every ticket the agent API sends
 * carries `allowed_actions` ("reply", "note", "claim", "assign", "solve", "close", "reopen",
 * "merge"; handoff/visibility.py), and the console offers exactly those. */
import { humanize } from "./format.js";
import { t, valueLabel } from "./i18n.js";

export const STATUSES = ["new", "open", "pending", "on_hold", "solved", "closed"];
export const PRIORITIES = ["low", "normal", "high", "urgent"];
export const VIEW_KEYS = { 1: "queue", 2: "mine", 3: "all" };

/* The status picker's words for a status ("Pending (on customer)"); the badges use
 * valueLabel("ticket.status", ...) ("pending"). */
export function statusLabel(status) { return valueLabel("ticket.statusLabel", status); }

/* What an empty queue tab says. */
export function queueEmpty(view) {
  if (view === "mine") return t("queue.empty.mine");
  if (view === "all") return t("queue.empty.all");
  return t("queue.empty.queue");
}

export function allows(ticket, action) {
  return !!ticket && Array.isArray(ticket.allowed_actions) && ticket.allowed_actions.indexOf(action) >= 0;
}

export function can(me, permission) {
  return !!me && Array.isArray(me.permissions) && me.permissions.indexOf(permission) >= 0;
}

/* The buttons in the ticket's head, in order: Claim, then Solve. */
export function headActions(ticket) {
  const actions = [];
  if (allows(ticket, "claim")) actions.push({ id: "claim", label: t("ticket.claim"), cls: "primary" });
  if (allows(ticket, "solve")) actions.push({ id: "solve", label: t("ticket.solve"), cls: "secondary" });
  return actions;
}

/* The composer shows while the agent may reply or add a note. */
export function hasComposer(ticket) { return allows(ticket, "reply") || allows(ticket, "note"); }

/* The mode the composer ends up in when `wanted` is asked for: a reply only where replying
 * is allowed, else an internal note; null when neither is. */
export function composerMode(ticket, wanted) {
  if (wanted === "reply" && allows(ticket, "reply")) return "reply";
  if (allows(ticket, "note")) return "note";
  return allows(ticket, "reply") ? "reply" : null;
}

/* How the composer looks in `mode`. */
export function composerView(ticket, mode) {
  const replyAllowed = allows(ticket, "reply"), note = mode === "note";
  return {
    note,
    replyDisabled: !replyAllowed,
    replyTitle: replyAllowed ? "" : t("composer.replyTitle"),
    send: note ? t("composer.addNote") : t("composer.send"),
    showThen: !note,
    placeholder: note ? t("composer.placeholder.note") : t("composer.placeholder.reply")
  };
}

/* The status picker: the current status, then the moves the server's transition table
 * (rendered into the page) allows from it, less those the ticket's actions rule out:
 * solving needs "solve", closing "close", and any move out of solved "reopen". */
export function statusChoices(ticket, transitions) {
  const targets = (transitions && transitions[ticket.status]) || [];
  const offered = targets.filter((target) => {
    if (target === "solved") return allows(ticket, "solve");
    if (target === "closed") return allows(ticket, "close");
    if (ticket.status === "solved") return allows(ticket, "reopen");
    return true;
  });
  return [ticket.status].concat(offered).map((s) => ({ value: s, label: statusLabel(s) }));
}

/* j / k: the ticket `offset` rows from the open one (the first or last when none is open),
 * or null for an empty list. */
export function stepTarget(tickets, currentId, offset) {
  if (!tickets.length) return null;
  const index = tickets.findIndex((row) => row.id === currentId);
  let next = Math.max(0, Math.min(tickets.length - 1, index + offset));
  if (index === -1) next = offset > 0 ? 0 : tickets.length - 1;
  return tickets[next].id;
}

/* The line under a ticket's title: why it came, intent, channel, team and assignee. */
export function reasonLine(ticket, conversation) {
  // Tickets an agent opened or a customer e-mailed were never with the bot.
  const opened = ticket.reason === "agent_opened" || ticket.reason === "email";
  const reason = valueLabel("reason", ticket.reason);
  const line = [opened ? t("ticket.opened", { reason }) : t("ticket.handoff", { reason })];
  if (ticket.detected_intent) {
    line.push(ticket.intent_confidence != null
      ? t("ticket.intentConfidence", { intent: ticket.detected_intent, percent: Math.round(ticket.intent_confidence * 100) })
      : t("ticket.intent", { intent: ticket.detected_intent }));
  }
  line.push(valueLabel("channel", ticket.channel || (conversation && conversation.channel)));
  if (ticket.team_name) line.push(t("ticket.team", { team: ticket.team_name }));
  line.push(ticket.assignee_name ? t("ticket.assignedTo", { name: ticket.assignee_name }) : t("ticket.unassigned"));
  return line.filter(Boolean).join(t("list.separator"));
}

/* Messages and notes in one timeline, oldest first (stable for equal times). */
export function timeline(messages, notes) {
  const items = messages.map((m) => ({ kind: "message", at: m.created_at, item: m }))
    .concat(notes.map((n) => ({ kind: "note", at: n.created_at, item: n })));
  return items.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}

/* The body of a reply: its text and, if chosen, the status to move to after sending. */
export function replyBody(text, then) {
  const body = { text };
  if (then) body.status = then;
  return body;
}

/* ---------- canned responses: "/" + shortcut ---------- */

/* The "/word" being typed just before the caret, or null. */
export function cannedQuery(value, caret) {
  const before = value.slice(0, caret);
  const match = /(^|\s)\/([\w-]*)$/.exec(before);
  return match ? { text: match[2].toLowerCase(), start: before.length - match[2].length - 1 } : null;
}

/* Responses whose shortcut starts with, or whose title contains, the query: eight at most. */
export function cannedMatches(canned, query) {
  if (!query) return [];
  return canned.filter((c) => c.shortcut.toLowerCase().indexOf(query.text) === 0
    || c.title.toLowerCase().indexOf(query.text) >= 0).slice(0, 8);
}

/* The text with the "/word" (or, without one, the caret) replaced by `text`. */
export function insertText(value, caret, query, text) {
  const start = query ? query.start : caret;
  return { value: value.slice(0, start) + text + value.slice(caret), caret: start + text.length };
}

/* Up / Down in a menu of `length` options, wrapping round. */
export function wrapIndex(index, offset, length) {
  if (!length) return 0;
  return (index + offset + length) % length;
}

/* ---------- history ---------- */

function isObject(v) { return v !== null && typeof v === "object" && !Array.isArray(v); }

/* A history value for people: agent and team ids by name from the directory. */
export function shownValue(field, value, directory) {
  if (value === null || value === undefined || value === "") return "—";
  if (Array.isArray(value)) return value.join(", ") || "—";
  if (typeof value === "object") return JSON.stringify(value);
  const named = (list, label) => {
    const hit = (list || []).filter((x) => x.id === value)[0];
    return hit ? hit[label] : "#" + value;
  };
  if (/(^|_)(assignee|user|agent)(_id)?$/.test(field)) return named(directory.agents, "display_name");
  if (/(^|_)team(_id)?$/.test(field)) return named(directory.teams, "name");
  if (field === "status") return valueLabel("ticket.status", value);
  if (field === "priority") return valueLabel("priority", value);
  if (field === "reason") return valueLabel("reason", value);
  if (field === "channel") return valueLabel("channel", value);
  return humanize(value);
}

/* "status: new → open", one line per field that changed. */
export function historyLines(h, directory) {
  if (!isObject(h.before) && !isObject(h.after)) {
    if (h.before == null && h.after == null) return [];
    return [t("history.move", { before: shownValue(h.action, h.before, directory), after: shownValue(h.action, h.after, directory) })];
  }
  const before = isObject(h.before) ? h.before : {}, after = isObject(h.after) ? h.after : {};
  const keys = Object.keys(before).concat(Object.keys(after).filter((k) => !(k in before)));
  return keys.filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]))
    .map((k) => {
      const field = valueLabel("history.field", k.replace(/_id$/, ""));
      const value = shownValue(k, after[k], directory);
      return k in before ? t("history.change", { field, before: shownValue(k, before[k], directory), after: value })
        : t("history.set", { field, value });
    });
}

/* ---------- live events ---------- */

/* What a live event asks of the page, given the open ticket (or null), the queue's rows and
 * the agent's id: a list of effects for console.js to carry out. */
export function eventEffects(ev, current, tickets, meId) {
  const here = !!current && (ev.conversation_id === current.conversation_id || ev.ticket_id === current.id);
  const effects = [];
  switch (ev.type) {
    case "message.created":
      if (here) {
        effects.push("add-message");
        if (ev.message && ev.message.sender_type === "customer") effects.push("typing-stopped");
      }
      if (tickets.some((row) => row.conversation_id === ev.conversation_id)) effects.push("reload-queue");
      break;
    case "note.created":
      if (here) effects.push("add-note");
      break;
    case "typing":
      if (ev.sender_type === "customer") effects.push("customer-typing");
      break;
    case "queue.changed": case "conversation.status": case "ticket.updated":
      effects.push("reload-queue");
      if (here) effects.push("reload-ticket");
      break;
    case "notification":
      effects.push("reload-notifications");
      break;
    case "presence.changed":
      if (ev.user_id === meId) effects.push("own-presence");
      break;
  }
  return effects;
}

/* The console's keys outside text boxes and dialogs: the action a key stands for, or null. */
export function shortcutFor(key) {
  if (key === "?") return { action: "help" };
  if (key === "j") return { action: "step", offset: 1 };
  if (key === "k") return { action: "step", offset: -1 };
  if (VIEW_KEYS[key]) return { action: "view", view: VIEW_KEYS[key] };
  if (key === "c") return { action: "claim" };
  if (key === "r") return { action: "focus-reply" };
  return null;
}
