/* Text for people, shared by the staff pages: durations, times, enum values, SLA clocks, in
 * the page's language (i18n.js: English until a page chooses one). No DOM access
 * (tests/frontend imports it). */
import { dateTime, t } from "./i18n.js";

/* "4 min", "1 h 05 min", "2 d 3 h", "overdue 12 min". */
export function formatDuration(seconds) {
  const overdue = seconds < 0, s = Math.abs(Math.round(seconds));
  let text;
  if (s < 60) text = t("duration.seconds", { n: s });
  else if (s < 3600) text = t("duration.minutes", { n: Math.round(s / 60) });
  else if (s < 86400) text = t("duration.hoursMinutes", { h: Math.floor(s / 3600), m: String(Math.floor((s % 3600) / 60)).padStart(2, "0") });
  else text = t("duration.daysHours", { d: Math.floor(s / 86400), h: Math.floor((s % 86400) / 3600) });
  return overdue ? t("duration.overdue", { time: text }) : text;
}

/* A time for people: month, day, hours and minutes in the page's locale and time zone. */
export function formatTime(iso) {
  if (!iso) return "";
  return dateTime(iso);
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
  if (sla.paused) return { label: t("sla.paused"), state: "paused", dueAt: sla.next_due_at };
  const label = left >= 0 ? t("sla.left", { time: formatDuration(left) }) : t("sla.overdue", { time: formatDuration(-left) });
  return { label, state, dueAt: sla.next_due_at };
}

/* "★★★★☆" for a 1-5 rating. */
export function stars(score) {
  const n = Math.max(0, Math.min(5, Math.round(score)));
  return "★".repeat(n) + "☆".repeat(5 - n);
}
