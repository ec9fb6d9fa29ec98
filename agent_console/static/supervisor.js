/* The supervisor page: team queues, agents' status and load, open tickets and the SLA risk
 * list with reassignment (where the ticket's `allowed_actions` has "assign"). Re-read when a
 * queue, ticket or presence event arrives. */
import { api } from "./api.js";
import { $, el, fill, liveSocket, row, slaBadge, startWithLogin, toast } from "./common.js";
import { allows, can } from "./console_state.js";
import { formatDuration, humanize } from "./format.js";
import { agentOptionText, csatText, loadView, reassignCandidates, reloadsOn } from "./supervisor_state.js";

const AGENT = "/api/v1/agent";
const state = { overview: null, tickets: [], pending: null };

function start(me) {
  if (!can(me, "tickets.assign")) {
    $("supervisor").textContent = "";
    $("supervisor").appendChild(el("div", "empty card wide", "This page is for supervisors (it needs the permission 'tickets.assign')."));
    return;
  }
  load();
  liveSocket(onEvent, load);
  setInterval(load, 60000);  // waits and SLA time left move on between events
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
    render();
    $("updated").textContent = "Updated " + new Date().toLocaleTimeString();
  }).catch((err) => toast(err.message));
}

function render() {
  renderTeams(state.overview.teams);
  renderAgents(state.overview.agents);
  renderTickets("open-tickets", state.tickets, "No open tickets in your teams.");
  renderTickets("sla-risk", state.overview.sla_risk, "No ticket is near or past its SLA.");
}

function renderTeams(teams) {
  fill("teams", teams.map((team) => {
    const tr = row([team.name, humanize(team.assignment_policy), team.queued,
      team.longest_wait_seconds ? formatDuration(team.longest_wait_seconds) : "—", team.online_agents,
      csatText(team.csat_30d)]);
    tr.setAttribute("data-team-id", team.id);
    return tr;
  }), "No teams.", 5);
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
  box.appendChild(document.createTextNode(status));
  return box;
}

function renderAgents(agents) {
  fill("agents", agents.map((agent) => {
    const tr = row([agent.display_name, statusCell(agent.status), loadBar(agent), csatText(agent.csat_30d)]);
    tr.setAttribute("data-agent-id", agent.id);
    return tr;
  }), "No agents in your teams.", 4);
}

function reassignControl(ticket) {
  if (!allows(ticket, "assign")) return "—";
  const box = el("span", "inline");
  const picker = el("select");
  picker.setAttribute("aria-label", "Reassign #" + ticket.id);
  const none = el("option", null, "Queue (nobody)"); none.value = ""; picker.appendChild(none);
  reassignCandidates(state.overview.agents, ticket).forEach((agent) => {
    const option = el("option", null, agentOptionText(agent));
    option.value = agent.id;
    if (agent.id === ticket.assignee_id) option.selected = true;
    picker.appendChild(option);
  });
  const button = el("button", "secondary", "Reassign"); button.type = "button";
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
  fill(tableId, tickets.map((t) => {
    const link = el("a", null, "#" + t.id + " " + t.subject);
    link.href = "/console#ticket-" + t.id;
    const tr = row([link, t.team_name || "—", el("span", "badge " + t.priority, t.priority),
      el("span", "badge " + t.status, humanize(t.status)), slaBadge(t.sla) || "—",
      t.assignee_name || "unassigned", reassignControl(t)]);
    tr.setAttribute("data-ticket-id", t.id);
    return tr;
  }), emptyText, 7);
}

startWithLogin(start);
