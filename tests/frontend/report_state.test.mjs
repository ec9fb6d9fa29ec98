// The reports' filters and figures (reporting/static/report_state.js).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  change, channelLabel, daysAgo, drillOf, drillUrl, isPreset, pageExtras, parseFilters,
  previousPeriod, queryString, reportOf, transcriptUrl
} from "../../reporting/static/report_state.js";

const NOW = new Date(2026, 10, 30, 12, 0, 0);  // 30 Nov 2026, local time

describe("filters <-> URL", () => {
  it("defaults to the last 30 days in the browser's zone", () => {
    assert.deepEqual(parseFilters("", { now: NOW, zone: "Europe/Berlin" }), { start: "2026-11-01", end: "2026-11-30", tz: "Europe/Berlin" });
    assert.deepEqual(parseFilters("?start=2026-01-01&end=2026-01-31&team_id=3&junk=1", { now: NOW }),
      { start: "2026-01-01", end: "2026-01-31", team_id: "3", tz: "UTC" });
  });

  it("writes the filters in a fixed order, then the extras, leaving out empty ones", () => {
    const filters = { tz: "UTC", end: "2026-01-31", start: "2026-01-01", intent: "", business_hours: "", channel: "email" };
    assert.equal(queryString(filters), "start=2026-01-01&end=2026-01-31&tz=UTC&channel=email");
    assert.equal(queryString({ business_hours: "true" }, { metric: "volume.channel", value: null }), "business_hours=true&metric=volume.channel");
  });

  it("reads the list's own keys only on the list and the transcript", () => {
    assert.deepEqual(pageExtras("conversations", "?metric=bot.contained&value=x"), { metric: "bot.contained", value: "x" });
    assert.deepEqual(pageExtras("overview", "?metric=bot.contained"), {});
  });

  it("links a figure to its conversations with the same filters", () => {
    const filters = { start: "2026-01-01", end: "2026-01-31", tz: "UTC" };
    assert.equal(drillUrl(filters, { metric: "volume.channel", value: "email" }),
      "/reports/conversations?start=2026-01-01&end=2026-01-31&tz=UTC&metric=volume.channel&value=email");
    assert.equal(drillUrl(filters, { metric: "volume.day", value: 0 }).endsWith("value=0"), true);
    assert.equal(drillUrl(filters, null), null);
    assert.equal(transcriptUrl(filters, "a b", { metric: "m" }), "/reports/conversations/a%20b?start=2026-01-01&end=2026-01-31&tz=UTC&metric=m");
  });

  it("goes back from a list to the report its metric belongs to", () => {
    assert.equal(reportOf("bot.handed_off", "?start=2026-01-01&metric=bot.handed_off&value=x&cursor=9"), "/reports/bot?start=2026-01-01");
    assert.equal(reportOf("agent.handled", ""), "/reports/agents?");
    assert.equal(reportOf(null, "?tz=UTC"), "/reports?tz=UTC");
  });

  it("knows the quick ranges", () => {
    assert.equal(daysAgo(6, NOW), "2026-11-24");
    assert.equal(isPreset({ start: "2026-11-24", end: "2026-11-30" }, 7, NOW), true);
    assert.equal(isPreset({ start: "2026-11-24", end: "2026-11-30" }, 30, NOW), false);
  });

  it("compares with the period of the same length just before", () => {
    assert.deepEqual(previousPeriod({ start: "2026-03-01", end: "2026-03-07" }), { start: "2026-02-22", end: "2026-02-28", days: 7 });
    assert.deepEqual(previousPeriod({ start: "2026-01-01", end: "2026-01-01" }), { start: "2025-12-31", end: "2025-12-31", days: 1 });
    assert.equal(previousPeriod({ start: "2026-03-07", end: "2026-03-01" }), null);
    assert.equal(previousPeriod({ start: "garbage", end: "2026-03-01" }), null);
  });
});

describe("figures", () => {
  it("links only figures with conversations behind them", () => {
    assert.deepEqual(drillOf({ metric: "bot.contained", value: null, conversations: 3 }), { metric: "bot.contained", value: null });
    assert.equal(drillOf({ metric: "bot.contained", conversations: 0 }), null);
  });

  it("writes the change in points for rates and relative for counts, toned by which way is good", () => {
    assert.deepEqual(change(52.5, 50, "percent", "up"), { text: "▲ 2.5 pts", tone: "good" });
    assert.deepEqual(change(52.5, 50, "percent", "down"), { text: "▲ 2.5 pts", tone: "bad" });
    assert.deepEqual(change(50.01, 50, "percent", "up"), { text: "± 0 pts", tone: "neutral" });
    assert.deepEqual(change(90, 120, "count"), { text: "▼ 25 %", tone: "neutral" });
    assert.deepEqual(change(90, 120, "seconds", "down"), { text: "▼ 25 %", tone: "good" });
    assert.equal(change(5, 0, "count"), null);
    assert.equal(change(null, 3, "count"), null);
  });

  it("names the channels", () => {
    assert.equal(channelLabel("widget"), "Web widget");
    assert.equal(channelLabel("sms_gateway"), "sms gateway");
  });
});
