/* The label step's keyboard state, apart from the DOM so tests/frontend can check it: which
 * tickets are offered a label, the intents matching what is typed, the highlighted one and
 * the window of intents shown around it, and the label's request body. */
import { t } from "./i18n.js";

// Tickets that were never with the bot have nothing to teach it.
export const NEVER_WITH_BOT = ["agent_opened", "email"];
export const MAX_SHOWN = 8;

export function mayOffer(ticket) {
  return !!ticket && NEVER_WITH_BOT.indexOf(ticket.reason) < 0;
}

/* A fresh panel for a label form: every intent shown, the first highlighted. */
export function panelFor(form) {
  return { ticketId: form.ticket_id, intents: form.intents || [], shown: (form.intents || []).slice(), index: 0 };
}

/* The intents matching the typed text (spaces as "_"): those starting with it first, then
 * those containing it, each in the server's order; the highlight goes to the first. */
export function filterIntents(panel, text) {
  const q = text.trim().toLowerCase().replace(/\s+/g, "_");
  const starts = [], contains = [];
  panel.intents.forEach((name) => {
    const at = name.toLowerCase().indexOf(q);
    if (at === 0) starts.push(name); else if (at > 0) contains.push(name);
  });
  return { ...panel, shown: starts.concat(contains), index: 0 };
}

/* Up / Down: the highlight moves and wraps round. */
export function moveHighlight(panel, offset) {
  const n = panel.shown.length;
  if (!n) return panel;
  return { ...panel, index: (panel.index + offset + n) % n };
}

export function chosen(panel) { return panel.shown.length ? panel.shown[panel.index] : ""; }

/* The index of the first intent on screen: the highlight stays in view as it moves down. */
export function firstShown(panel, max = MAX_SHOWN) {
  return Math.max(0, Math.min(panel.index - max + 1, panel.shown.length - max));
}

/* A key typed in the intent list that starts the search box's typeahead. */
export function startsTypeahead(e) {
  return e.key.length === 1 && /[a-z0-9_ ]/i.test(e.key) && !e.ctrlKey && !e.metaKey && !e.altKey;
}

/* The request body, or {error} when there is nothing to save. */
export function labelBody(panel, outOfScope, articleValue) {
  const intent = chosen(panel);
  if (!outOfScope && !intent) return { error: t("label.pickIntent") };
  return { intent: outOfScope ? null : intent, out_of_scope: outOfScope,
           article_id: articleValue ? Number(articleValue) : null };
}

/* "Bot's guess: request_human (72%)". */
export function guessText(form) {
  const guess = form.predicted_intent;
  if (!guess) return t("label.noGuess");
  return form.predicted_confidence != null
    ? t("label.guessConfidence", { intent: guess, percent: Math.round(form.predicted_confidence * 100) })
    : t("label.guess", { intent: guess });
}
