// Text for people (agent_console/static/format.js) and the supervisor page's figures.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { formatDuration, formatTime, humanize, slaView, stars } from "../../agent_console/static/format.js";
import { agentOptionText, csatText, loadView, reassignCandidates, reloadsOn } from "../../agent_console/static/supervisor_state.js";

describe("format", () => {
  it("writes durations the way the console shows them", () => {
    assert.equal(formatDuration(42), "42 s");
    assert.equal(formatDuration(240), "4 min");
    assert.equal(formatDuration(3900), "1 h 05 min");
    assert.equal(formatDuration(2 * 86400 + 3 * 3600), "2 d 3 h");
    assert.equal(formatDuration(-720), "overdue 12 min");
  });

  it("keeps a time it cannot read, and nothing for none", () => {
    assert.equal(formatTime(""), "");
    assert.equal(formatTime(null), "");
    assert.equal(formatTime("not a time"), "not a time");
  });

  it("humanizes enum values", () => {
    assert.equal(humanize("on_hold"), "on hold");
    assert.equal(humanize(null), "");
  });

  it("counts an SLA down from its due time", () => {
    const now = Date.parse("2026-01-01T12:00:00Z");
    const due = (seconds) => new Date(now + seconds * 1000).toISOString();
    assert.deepEqual(slaView({ seconds_left: 999, state: "ok", paused: false, next_due_at: due(600) }, now),
      { label: "SLA 10 min left", state: "ok", dueAt: due(600) });
    assert.equal(slaView({ seconds_left: 5, state: "at_risk", paused: false, next_due_at: due(-120) }, now).state, "breached");
    assert.equal(slaView({ seconds_left: 5, state: "at_risk", paused: false, next_due_at: due(-120) }, now).label, "SLA overdue 2 min");
    assert.deepEqual(slaView({ seconds_left: 60, state: "ok", paused: true, next_due_at: null }, now),
      { label: "SLA paused", state: "paused", dueAt: null });
    assert.equal(slaView({ seconds_left: null }, now), null);
    assert.equal(slaView(null, now), null);
  });

  it("draws ratings as five stars", () => {
    assert.equal(stars(4), "★★★★☆");
    assert.equal(stars(9), "★★★★★");
  });
});

describe("supervisor page", () => {
  it("re-reads on queue, presence, ticket and conversation events only", () => {
    assert.equal(reloadsOn({ type: "presence.changed" }), true);
    assert.equal(reloadsOn({ type: "typing" }), false);
  });

  it("shows CSAT as the average and the count", () => {
    assert.equal(csatText({ average: 4.567, count: 12 }), "4.6 (12)");
    assert.equal(csatText({ average: null, count: 0 }), "—");
    assert.equal(csatText(null), "—");
  });

  it("draws load against capacity", () => {
    assert.deepEqual(loadView({ load: 3, capacity: 4 }), { full: false, width: "75%", text: "3 / 4" });
    assert.deepEqual(loadView({ load: 5, capacity: 4 }), { full: true, width: "100%", text: "5 / 4" });
    assert.deepEqual(loadView({ load: 1, capacity: null }), { full: false, width: "0%", text: "1 / \u2014" });
  });

  it("offers a ticket's team members for reassignment (anyone without a team)", () => {
    const agents = [{ id: 1, team_ids: [2] }, { id: 2, team_ids: [3] }, { id: 3 }];
    assert.deepEqual(reassignCandidates(agents, { team_id: 2 }).map((a) => a.id), [1, 3]);
    assert.deepEqual(reassignCandidates(agents, { team_id: null }).map((a) => a.id), [1, 2, 3]);
    assert.equal(agentOptionText({ display_name: "Alex", status: "online", load: 1, capacity: null }), "Alex (online, 1/\u2014)");
  });
});
