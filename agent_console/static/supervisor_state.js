/* The supervisor page's decisions, apart from the DOM so tests/frontend can check them. */
import { t, valueLabel } from "./i18n.js";

/* Live events after which the page re-reads its tables. */
export const RELOAD_EVENTS = ["queue.changed", "presence.changed", "ticket.updated", "conversation.status"];

export function reloadsOn(ev) { return RELOAD_EVENTS.indexOf(ev.type) >= 0; }

/* "4.6 (12)": the average 1-5 rating of the last 30 days and how many ratings. */
export function csatText(summary) {
  return summary && summary.count ? summary.average.toFixed(1) + " (" + summary.count + ")" : "—";
}

/* Load against capacity; an agent who never set a status has no capacity yet. */
export function loadView(agent) {
  const capacity = agent.capacity;
  return {
    full: capacity != null && agent.load >= capacity,
    width: Math.min(100, capacity ? (100 * agent.load / capacity) : 0) + "%",
    text: agent.load + " / " + (capacity == null ? "\u2014" : capacity)
  };
}

/* Who a ticket can be reassigned to: members of its team (anyone for a ticket without one). */
export function reassignCandidates(agents, ticket) {
  return agents.filter((agent) => ticket.team_id == null || !agent.team_ids || agent.team_ids.indexOf(ticket.team_id) >= 0);
}

export function agentOptionText(agent) {
  return t("sup.agentOption", { name: agent.display_name, status: valueLabel("presence.state", agent.status),
    load: agent.load, capacity: agent.capacity == null ? "\u2014" : agent.capacity });
}
