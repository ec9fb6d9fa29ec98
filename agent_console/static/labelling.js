/* The learning loop in the agent console: the optional label after Solve, and "turn this
 * reply into an article draft" on an agent's message. console.js calls offer(ticket) once a
 * solve succeeded and draftButton(...) per agent message. The label step never blocks
 * anything: the ticket is solved already and Esc skips. Keys in the panel: Enter saves,
 * O = out of scope (saves), Up/Down pick the intent, typing filters the intents, Tab reaches
 * the article picker, Esc skips. The panel's state is labelling_state.js. */
import { api } from "./api.js";
import { $, el, toast } from "./common.js";
import { t } from "./i18n.js";
import {
  chosen, filterIntents, firstShown, guessText, labelBody, mayOffer, moveHighlight, panelFor,
  startsTypeahead, MAX_SHOWN
} from "./labelling_state.js";

const AGENT = "/api/v1/agent";
let panel = panelFor({ ticket_id: null, intents: [] });
const drafted = {};  // message id -> article id, so a re-rendered transcript remembers

function dialog() { return $("label-dialog"); }

export function offer(ticket) {
  if (!mayOffer(ticket)) return Promise.resolve(null);
  return api("GET", AGENT + "/tickets/" + ticket.id + "/label").then((form) => {
    if (form.label) return null;  // labelled already (another agent, or before a reopen)
    open(form);
    return form;
  }).catch(() => null);  // the label is optional: no error for the agent
}

function open(form) {
  panel = panelFor(form);
  $("label-text").textContent = form.text || t("label.noText");
  $("label-guess").textContent = guessText(form);
  $("label-filter").value = "";
  $("label-error").textContent = "";
  const picker = $("label-article");
  picker.textContent = "";
  const none = el("option", null, t("label.noArticle")); none.value = ""; picker.appendChild(none);
  form.articles.forEach((a) => {
    const option = el("option", null, a.offered_by_bot ? t("label.botsAnswer", { title: a.title }) : a.title);
    option.value = a.id; picker.appendChild(option);
  });
  filter("");
  // Not modal: the agent can go on working (or ignore it) while it is open.
  dialog().show();
  $("label-intents").focus();
}

function filter(text) {
  panel = filterIntents(panel, text);
  renderIntents();
}

function renderIntents() {
  const list = $("label-intents");
  list.textContent = "";
  const first = firstShown(panel);
  panel.shown.slice(first, first + MAX_SHOWN).forEach((name, i) => {
    const option = el("div", "option" + (first + i === panel.index ? " selected" : ""), name);
    option.setAttribute("role", "option");
    option.setAttribute("data-intent", name);
    option.addEventListener("mousedown", (e) => { e.preventDefault(); panel = { ...panel, index: first + i }; renderIntents(); });
    option.addEventListener("dblclick", () => save(false));
    list.appendChild(option);
  });
  if (!panel.shown.length) list.appendChild(el("div", "empty", t("label.noMatch")));
  $("label-chosen").textContent = chosen(panel);
}

function move(offset) {
  panel = moveHighlight(panel, offset);
  renderIntents();
}

function save(outOfScope) {
  const body = labelBody(panel, outOfScope, $("label-article").value);
  if (body.error) { $("label-error").textContent = body.error; return; }
  $("label-save").disabled = true;
  api("POST", AGENT + "/tickets/" + panel.ticketId + "/label", body).then(() => {
    dialog().close();
    toast(t("label.saved", { label: outOfScope ? t("label.outOfScope") : body.intent }), "info");
  }, (err) => {
    $("label-error").textContent = err.message || String(err);
  }).then(() => { $("label-save").disabled = false; });
}

function bind() {
  const list = $("label-intents"), search = $("label-filter");
  list.addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); save(false); return; }
    if (e.key === "o" || e.key === "O") { e.preventDefault(); save(true); return; }
    if (e.key === "ArrowDown" || e.key === "ArrowUp") { e.preventDefault(); move(e.key === "ArrowDown" ? 1 : -1); return; }
    // Any other letter starts the typeahead.
    if (startsTypeahead(e)) {
      e.preventDefault(); search.focus(); search.value += e.key; filter(search.value);
    }
  });
  search.addEventListener("input", () => filter(search.value));
  search.addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); save(false); return; }
    if (e.key === "ArrowDown" || e.key === "ArrowUp") { e.preventDefault(); move(e.key === "ArrowDown" ? 1 : -1); }
  });
  $("label-article").addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); save(false); }
  });
  $("label-form").addEventListener("submit", (e) => { e.preventDefault(); save(false); });
  $("label-oos").addEventListener("click", () => save(true));
  $("label-skip").addEventListener("click", () => dialog().close());
  dialog().addEventListener("keydown", (e) => {
    if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); dialog().close(); }
  });
}

/* ---------- an agent's reply -> a knowledge-base article draft ---------- */

export function draftButton(message, ticketId) {
  const button = el("button", "draft-article", t("draft.make"));
  button.type = "button";
  button.title = t("draft.title");
  button.setAttribute("data-message-id", message.id);
  if (drafted[message.id]) { button.disabled = true; button.textContent = t("draft.inReview", { id: drafted[message.id] }); }
  button.addEventListener("click", () => {
    button.disabled = true;
    api("POST", AGENT + "/tickets/" + ticketId + "/messages/" + message.id + "/article-draft").then((draft) => {
      drafted[message.id] = draft.article_id;
      button.textContent = t("draft.inReview", { id: draft.article_id });
      toast(t("draft.queued", { title: draft.title }), "info");
    }, (err) => {
      if (err.status === 409) { button.textContent = t("draft.already"); return; }
      button.disabled = false; toast(err.message || String(err));
    });
  });
  return button;
}

bind();
