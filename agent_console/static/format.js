/* Text for people, shared by the staff pages: durations, times, enum values, SLA clocks.
 * No DOM access (tests/frontend imports it). */

/* "4 min", "1 h 05 min", "2 d 3 h", "overdue 12 min". */
export function formatDuration(seconds) {
  const overdue = seconds < 0, s = Math.abs(Math.round(seconds));
  let text;
  if (s < 60) text = s + " s";
  else if (s < 3600) text = Math.round(s / 60) + " min";
  else if (s < 86400) text = Math.floor(s / 3600) + " h " + String(Math.floor((s % 3600) / 60)).padStart(2, "0") + " min";
  else text = Math.floor(s / 86400) + " d " + Math.floor((s % 86400) / 3600) + " h";
  return overdue ? "overdue " + text : text;
}

export function formatTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

/* "on_hold" -> "on hold". */
export function humanize(value) { return value ? String(value).replace(/_/g, " ") : ""; }

/* What a ticket's SLA badge says, or null when no clock runs: {label, state, dueAt}. Time
 * left counts down from the wall-clock due time, so a page left open stays right between
 * refreshes. */
export function slaView(sla, now = Date.now()) {
  if (!sla || sla.seconds_left === null || sla.seconds_left === undefined) return null;
  let left = sla.seconds_left, state = sla.state;
  if (!sla.paused && sla.next_due_at) left = (Date.parse(sla.next_due_at) - now) / 1000;
  if (left < 0) state = "breached";
  if (sla.paused) return { label: "SLA paused", state: "paused", dueAt: sla.next_due_at };
  return { label: "SLA " + formatDuration(left) + (left >= 0 ? " left" : ""), state, dueAt: sla.next_due_at };
}

/* "★★★★☆" for a 1-5 rating. */
export function stars(score) {
  const n = Math.max(0, Math.min(5, Math.round(score)));
  return "★".repeat(n) + "☆".repeat(5 - n);
}
