/* The supervisor page: team queues, agents' status and load, open tickets and the SLA risk
 * list with reassignment. Re-read when a queue, ticket or presence event arrives. */
(function () {
  "use strict";
  var T = window.Tandem, $ = T.$, el = T.el, api = T.api;
  var AGENT = "/api/v1/agent";
  var state = { overview: null, tickets: [], pending: null };

  function start(me) {
    if (me.permissions.indexOf("tickets.assign") < 0) {
      $("supervisor").textContent = "";
      $("supervisor").appendChild(el("div", "empty card wide", "This page is for supervisors (it needs the permission 'tickets.assign')."));
      return;
    }
    load();
    T.liveSocket(onEvent, load);
    setInterval(load, 60000);  // waits and SLA time left move on between events
  }

  /* Bursts of events (a busy queue) cost one reload. */
  function scheduleLoad() {
    if (state.pending) return;
    state.pending = setTimeout(function () { state.pending = null; load(); }, 300);
  }

  function onEvent(ev) {
    if (["queue.changed", "presence.changed", "ticket.updated", "conversation.status"].indexOf(ev.type) >= 0) scheduleLoad();
  }

  function load() {
    var overview = api("GET", AGENT + "/supervisor/overview");
    var tickets = api("GET", AGENT + "/queue?view=all");
    return Promise.all([overview, tickets]).then(function (results) {
      state.overview = results[0];
      state.tickets = results[1];
      render();
      $("updated").textContent = "Updated " + new Date().toLocaleTimeString();
    }).catch(function (err) { T.toast(err.message); });
  }

  function render() {
    renderTeams(state.overview.teams);
    renderAgents(state.overview.agents);
    renderTickets("open-tickets", state.tickets, "No open tickets in your teams.");
    renderTickets("sla-risk", state.overview.sla_risk, "No ticket is near or past its SLA.");
  }

  function row(cells) {
    var tr = el("tr");
    cells.forEach(function (cell) {
      var td = el("td");
      if (cell instanceof Node) td.appendChild(cell); else td.textContent = cell === null || cell === undefined ? "" : String(cell);
      tr.appendChild(td);
    });
    return tr;
  }

  function fill(tableId, rows, emptyText, columns) {
    var body = $(tableId).querySelector("tbody");
    body.textContent = "";
    if (!rows.length) {
      var td = el("td", "empty", emptyText); td.colSpan = columns;
      body.appendChild(el("tr")).appendChild(td);
    }
    rows.forEach(function (r) { body.appendChild(r); });
  }

  function renderTeams(teams) {
    fill("teams", teams.map(function (team) {
      var tr = row([team.name, T.humanize(team.assignment_policy), team.queued,
        team.longest_wait_seconds ? T.formatDuration(team.longest_wait_seconds) : "—", team.online_agents,
        csatText(team.csat_30d)]);
      tr.setAttribute("data-team-id", team.id);
      return tr;
    }), "No teams.", 5);
  }

  /* Load against capacity; an agent who never set a status has no capacity yet. */
  function loadBar(agent) {
    var box = el("span"), capacity = agent.capacity;
    var bar = el("span", "load-bar" + (capacity != null && agent.load >= capacity ? " full" : ""));
    var fillPart = el("span");
    fillPart.style.width = Math.min(100, capacity ? (100 * agent.load / capacity) : 0) + "%";
    bar.appendChild(fillPart);
    box.appendChild(bar);
    box.appendChild(document.createTextNode(agent.load + " / " + (capacity == null ? "\u2014" : capacity)));
    return box;
  }

  function statusCell(status) {
    var box = el("span");
    box.appendChild(el("span", "status-dot " + status));
    box.appendChild(document.createTextNode(status));
    return box;
  }

  /* "4.6 (12)": the average 1-5 rating of the last 30 days and how many ratings. */
  function csatText(summary) {
    return summary && summary.count ? summary.average.toFixed(1) + " (" + summary.count + ")" : "—";
  }

  function renderAgents(agents) {
    fill("agents", agents.map(function (agent) {
      var tr = row([agent.display_name, statusCell(agent.status), loadBar(agent), csatText(agent.csat_30d)]);
      tr.setAttribute("data-agent-id", agent.id);
      return tr;
    }), "No agents in your teams.", 4);
  }

  function reassignControl(ticket) {
    var box = el("span", "inline");
    var picker = el("select");
    picker.setAttribute("aria-label", "Reassign #" + ticket.id);
    var none = el("option", null, "Queue (nobody)"); none.value = ""; picker.appendChild(none);
    // Members of the ticket's team (anyone for a ticket without a team).
    state.overview.agents.filter(function (agent) {
      return ticket.team_id == null || !agent.team_ids || agent.team_ids.indexOf(ticket.team_id) >= 0;
    }).forEach(function (agent) {
      var option = el("option", null, agent.display_name + " (" + agent.status + ", " + agent.load + "/" + (agent.capacity == null ? "\u2014" : agent.capacity) + ")");
      option.value = agent.id;
      if (agent.id === ticket.assignee_id) option.selected = true;
      picker.appendChild(option);
    });
    var button = el("button", "secondary", "Reassign"); button.type = "button";
    button.addEventListener("click", function () {
      button.disabled = true;
      api("POST", AGENT + "/tickets/" + ticket.id + "/assign",
          { assignee_id: picker.value ? Number(picker.value) : null, team_id: ticket.team_id })
        .then(load, function (err) { T.toast(err.message); button.disabled = false; });
    });
    box.appendChild(picker); box.appendChild(button);
    return box;
  }

  function renderTickets(tableId, tickets, emptyText) {
    fill(tableId, tickets.map(function (t) {
      var link = el("a", null, "#" + t.id + " " + t.subject);
      link.href = "/console#ticket-" + t.id;
      var tr = row([link, t.team_name || "—", el("span", "badge " + t.priority, t.priority),
        el("span", "badge " + t.status, T.humanize(t.status)), T.slaBadge(t.sla) || "—",
        t.assignee_name || "unassigned", reassignControl(t)]);
      tr.setAttribute("data-ticket-id", t.id);
      return tr;
    }), emptyText, 7);
  }

  T.startWithLogin(start);
})();
