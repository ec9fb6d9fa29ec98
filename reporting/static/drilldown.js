/* The conversations behind a figure (GET /api/v1/reports/conversations, paginated by cursor)
 * and one conversation's transcript (GET /api/v1/reports/conversations/{id}); both keep the
 * report's filters, so "back" returns to the same view. */
import { api } from "/console/static/api.js";
import { el, startWithLogin, toast } from "/console/static/common.js";
import { humanize } from "/console/static/format.js";
import { reportOf } from "./report_state.js";
import * as R from "./reports.js";

const API = R.API;
const PAGE_SIZE = 50;
const OUTCOMES = { contained: "Contained", handed_off: "Handed off", no_reply: "No bot reply", none: "No bot" };

function params() { return new URLSearchParams(location.search); }

function filterChips(meta) {
  var f = (meta && meta.filters) || {}, box = el("div", "chips");
  var chips = [R.shortDay(f.start) + " – " + R.shortDay(f.end), f.tz];
  if (f.team_id !== null && f.team_id !== undefined) chips.push("team " + (R.state.directory.teams[f.team_id] || f.team_id));
  if (f.agent_id !== null && f.agent_id !== undefined) chips.push("agent " + (R.state.directory.agents[f.agent_id] || f.agent_id));
  if (f.channel) chips.push(R.channelLabel(f.channel));
  if (f.intent) chips.push("intent " + humanize(f.intent));
  if (f.priority) chips.push(f.priority + " priority");
  if (f.business_hours) chips.push("business hours");
  chips.forEach(function (c) { if (c) box.appendChild(el("span", "chip", c)); });
  return box;
}

function outcomeBadge(outcome) {
  return el("span", "badge outcome-" + outcome, OUTCOMES[outcome] || humanize(outcome));
}

function rowNode(row) {
  R.rememberTeam(row.team_id, row.team);
  R.rememberAgent(row.agent_id, row.agent);
  var tr = el("tr");
  tr.setAttribute("data-conversation-id", row.conversation_id);
  var link = el("a", null, R.formatDate(row.created_at));
  link.href = R.transcriptUrl(row.conversation_id);
  var cells = [link, R.channelLabel(row.channel), row.team || "—", row.agent || "—",
    outcomeBadge(row.outcome), row.intent ? humanize(row.intent) : "—",
    row.ticket_status ? el("span", "badge " + row.ticket_status, humanize(row.ticket_status)) : "—",
    row.priority ? el("span", "badge " + row.priority, row.priority) : "—",
    String(row.messages)];
  cells.forEach(function (c) {
    var td = el("td");
    if (c instanceof Node) td.appendChild(c); else td.textContent = c;
    tr.appendChild(td);
  });
  var first = el("td", "first-message", row.first_customer_message || "");
  first.title = row.first_customer_message || "";
  tr.appendChild(first);
  tr.addEventListener("click", function (e) {
    if (e.target.tagName !== "A") location.href = link.href;
  });
  return tr;
}

R.RENDERERS.conversations = function (get) {
  var q = params();
  if (!q.get("metric")) {
    return Promise.resolve(function (body) {
      R.subtitle(R.periodText());
      body.appendChild(R.emptyNote("Open a report and click a number or a chart to list the conversations behind it."));
    });
  }
  var extra = { metric: q.get("metric"), value: q.get("value"), limit: PAGE_SIZE };
  return get(API + "/conversations", extra).then(function (page) {
    return function (body) {
      document.getElementById("report-title").textContent = page.label || "Conversations";
      R.subtitle(R.formatCount(page.total) + " conversation" + (page.total === 1 ? "" : "s") + " · " + R.periodText());
      var crumbs = el("div", "crumbs");
      var back = el("a", null, "← Back to the report");
      back.href = reportOf(page.metric, location.search);
      crumbs.appendChild(back);
      body.appendChild(crumbs);
      body.appendChild(filterChips(page.meta));
      var box = R.card("Conversations", "newest first; click a row for its transcript", "wide");
      var table = el("table", "grid rows");
      var head = el("tr");
      ["Started", "Channel", "Team", "Agent", "Outcome", "Intent", "Ticket", "Priority", "Messages", "First customer message"].forEach(function (h) { head.appendChild(el("th", null, h)); });
      table.appendChild(el("thead")).appendChild(head);
      var tbody = el("tbody");
      table.appendChild(tbody);
      var wrap = el("div", "table-scroll"); wrap.appendChild(table);
      box.appendChild(wrap);
      var foot = el("div", "list-foot");
      var shown = el("span", "shown");
      var more = el("button", "secondary", "Load more"); more.type = "button"; more.id = "load-more";
      foot.appendChild(shown); foot.appendChild(more);
      box.appendChild(foot);
      body.appendChild(box);

      var count = 0;
      function add(result) {
        if (!result.rows.length && !count) {
          var td = el("td", "empty", "No conversations behind this figure."); td.colSpan = 10;
          tbody.appendChild(el("tr")).appendChild(td);
        }
        result.rows.forEach(function (row) { tbody.appendChild(rowNode(row)); });
        count += result.rows.length;
        shown.textContent = "Showing " + R.formatCount(count) + " of " + R.formatCount(result.total);
        more.hidden = !result.next_cursor;
        more.onclick = function () {
          more.disabled = true;
          api("GET", API + "/conversations?" + new URLSearchParams(Object.assign(
            Object.fromEntries(new URLSearchParams(location.search)), { limit: PAGE_SIZE, cursor: result.next_cursor })).toString())
            .then(function (next) { more.disabled = false; add(next); })
            .catch(function (err) { more.disabled = false; toast(err.message); });
        };
      }
      add(page);
    };
  });
};

function messageNode(m, customerName) {
  var node = el("div", "msg " + m.sender_type);
  node.setAttribute("data-message-id", m.id);
  var who = { customer: customerName || "Customer", bot: "Bot", agent: m.sender_name || "Agent", system: "" }[m.sender_type];
  if (who === undefined) who = m.sender_name || humanize(m.sender_type);
  var details = [];
  if (m.sender_type === "bot" && m.kind) details.push(m.kind === "handoff" ? "hand-off: " + humanize(m.reason || "requested") : humanize(m.kind));
  if (m.intent) details.push("intent " + humanize(m.intent));
  details.push(R.formatDate(m.created_at));
  if (who !== "") node.appendChild(el("span", "who", [who].concat(details).join(" · ")));
  node.appendChild(document.createTextNode(m.text));
  return node;
}

function facts(rows) {
  var dl = el("dl");
  rows.forEach(function (r) {
    if (r[1] === null || r[1] === undefined || r[1] === "") return;
    dl.appendChild(el("dt", null, r[0]));
    var dd = el("dd");
    if (r[1] instanceof Node) dd.appendChild(r[1]); else dd.textContent = String(r[1]);
    dl.appendChild(dd);
  });
  return dl;
}

R.RENDERERS.transcript = function () {
  var id = document.body.getAttribute("data-conversation-id");
  return api("GET", API + "/conversations/" + encodeURIComponent(id)).then(function (t) {
    return function (body) {
      document.getElementById("report-title").textContent = "Conversation of " + R.formatDate(t.created_at);
      R.subtitle(R.channelLabel(t.channel) + " · " + t.messages.length + (t.messages.length === 1 ? " message" : " messages") + " · " + humanize(t.status));
      var crumbs = el("div", "crumbs");
      var q = params();
      if (q.get("metric")) {
        var back = el("a", null, "← Back to the list");
        back.href = "/reports/conversations?" + q.toString();
        crumbs.appendChild(back);
      } else {
        var home = el("a", null, "← Reports");
        home.href = "/reports?" + q.toString();
        crumbs.appendChild(home);
      }
      body.appendChild(crumbs);
      var layout = el("div", "transcript-layout");
      var left = R.card("Transcript", t.masked ? "personal data masked" : null);
      var box = el("div", "transcript"); box.id = "transcript";
      if (!t.messages.length) box.appendChild(R.emptyNote("No messages."));
      t.messages.forEach(function (m) { box.appendChild(messageNode(m, t.customer_name)); });
      left.appendChild(box);
      layout.appendChild(left);
      var right = R.card("Details", null, "facts");
      right.appendChild(facts([
        ["Conversation", t.conversation_id], ["Started", R.formatDate(t.created_at)],
        ["Channel", R.channelLabel(t.channel)], ["Status", humanize(t.status)],
        ["Customer", t.customer_name], ["E-mail", t.customer_email]
      ]));
      t.tickets.forEach(function (k) {
        right.appendChild(el("h3", null, "Ticket #" + k.id));
        right.appendChild(facts([
          ["Status", el("span", "badge " + k.status, humanize(k.status))],
          ["Priority", el("span", "badge " + k.priority, k.priority)],
          ["Hand-off reason", humanize(k.reason)],
          ["Team", k.team_id === null ? "—" : (R.state.directory.teams[k.team_id] || "Team " + k.team_id)],
          ["Assignee", k.assignee_id === null ? "nobody" : (R.state.directory.agents[k.assignee_id] || "Agent " + k.assignee_id)],
          ["Opened", R.formatDate(k.created_at)], ["First response", R.formatDate(k.first_response_at)],
          ["Solved", R.formatDate(k.solved_at)]
        ]));
      });
      if (t.masked) right.appendChild(el("p", "masked-note", "Names, e-mail addresses and other personal data are masked: seeing them needs the permission 'pii.read'."));
      layout.appendChild(right);
      body.appendChild(layout);
    };
  });
};

startWithLogin(R.start);
