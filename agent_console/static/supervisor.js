/* The supervisor page: team queues, agents' status and load, open tickets and the SLA risk
 * list with reassignment (where the ticket's `allowed_actions` has "assign"). Re-read when a
 * queue, ticket or presence event arrives. */
import { api } from "./api.js";
import { $, el, fill, liveSocket, localePicker, row, slaBadge, startWithLogin, toast } from "./common.js";
import { allows, can } from "./console_state.js";
import { formatDuration } from "./format.js";
import { TIME, dateTime, startLocale, t, valueLabel } from "./i18n.js";
import { agentOptionText, csatText, loadView, reassignCandidates, reloadsOn } from "./supervisor_state.js";

const AGENT = "/api/v1/agent";
const state = { overview: null, tickets: [], pending: null, updatedAt: null };

function start(me) {
  const allowed = can(me, "tickets.assign");
  localePicker(() => { if (!allowed) forbidden(); else if (state.overview) render(); });
  if (!allowed) { forbidden(); return; }
  load();
  liveSocket(onEvent, load);
  setInterval(load, 60000);  // waits and SLA time left move on between events
}

function forbidden() {
  $("supervisor").textContent = "";
  $("supervisor").appendChild(el("div", "empty card wide", t("sup.forbidden")));
}

/* Bursts of events (a busy queue) cost one reload. */
function scheduleLoad() {
  if (state.pending) return;
  state.pending = setTimeout(() => { state.pending = null; load(); }, 300);
}

function onEvent(ev) {
  if (reloadsOn(ev)) scheduleLoad();
}

function load() {
  const overview = api("GET", AGENT + "/supervisor/overview");
  const tickets = api("GET", AGENT + "/queue?view=all");
  return Promise.all([overview, tickets]).then((results) => {
    state.overview = results[0];
    state.tickets = results[1];
    state.updatedAt = new Date();
    render();
  }).catch((err) => toast(err.message));
}

function render() {
  renderTeams(state.overview.teams);
  renderAgents(state.overview.agents);
  renderTickets("open-tickets", state.tickets, t("sup.open.empty"));
  renderTickets("sla-risk", state.overview.sla_risk, t("sup.risk.empty"));
  $("updated").textContent = t("sup.updated", { time: dateTime(state.updatedAt, TIME) });
}

function renderTeams(teams) {
  fill("teams", teams.map((team) => {
    const tr = row([team.name, valueLabel("policy", team.assignment_policy), team.queued,
      team.longest_wait_seconds ? formatDuration(team.longest_wait_seconds) : "—", team.online_agents,
      csatText(team.csat_30d)]);
    tr.setAttribute("data-team-id", team.id);
    return tr;
  }), t("sup.teams.empty"), 5);
}

function loadBar(agent) {
  const view = loadView(agent), box = el("span");
  const bar = el("span", "load-bar" + (view.full ? " full" : ""));
  const fillPart = el("span");
  fillPart.style.width = view.width;
  bar.appendChild(fillPart);
  box.appendChild(bar);
  box.appendChild(document.createTextNode(view.text));
  return box;
}

function statusCell(status) {
  const box = el("span");
  box.appendChild(el("span", "status-dot " + status));
  box.appendChild(document.createTextNode(valueLabel("presence.state", status)));
  return box;
}

function renderAgents(agents) {
  fill("agents", agents.map((agent) => {
    const tr = row([agent.display_name, statusCell(agent.status), loadBar(agent), csatText(agent.csat_30d)]);
    tr.setAttribute("data-agent-id", agent.id);
    return tr;
  }), t("sup.agents.empty"), 4);
}

function reassignControl(ticket) {
  if (!allows(ticket, "assign")) return "—";
  const box = el("span", "inline");
  const picker = el("select");
  picker.setAttribute("aria-label", t("sup.reassign.aria", { id: ticket.id }));
  const none = el("option", null, t("sup.reassign.nobody")); none.value = ""; picker.appendChild(none);
  reassignCandidates(state.overview.agents, ticket).forEach((agent) => {
    const option = el("option", null, agentOptionText(agent));
    option.value = agent.id;
    if (agent.id === ticket.assignee_id) option.selected = true;
    picker.appendChild(option);
  });
  const button = el("button", "secondary", t("sup.reassign.submit")); button.type = "button";
  button.addEventListener("click", () => {
    button.disabled = true;
    api("POST", AGENT + "/tickets/" + ticket.id + "/assign",
        { assignee_id: picker.value ? Number(picker.value) : null, team_id: ticket.team_id })
      .then(load, (err) => { toast(err.message); button.disabled = false; });
  });
  box.appendChild(picker); box.appendChild(button);
  return box;
}

function renderTickets(tableId, tickets, emptyText) {
  fill(tableId, tickets.map((tk) => {
    const link = el("a", null, "#" + tk.id + " " + tk.subject);
    link.href = "/console#ticket-" + tk.id;
    const tr = row([link, tk.team_name || "—", el("span", "badge " + tk.priority, valueLabel("priority", tk.priority)),
      el("span", "badge " + tk.status, valueLabel("ticket.status", tk.status)), slaBadge(tk.sla) || "—",
      tk.assignee_name || t("ticket.unassigned"), reassignControl(tk)]);
    tr.setAttribute("data-ticket-id", tk.id);
    return tr;
  }), emptyText, 7);
}

startLocale().then(() => startWithLogin(start));
