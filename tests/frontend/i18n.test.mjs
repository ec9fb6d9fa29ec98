// The translations (agent_console/static/i18n.js and the widget's own copy in
// bot/channels/static/widget.js): the language choice, t() and its fallbacks, dates through
// Intl, and the catalogues: the same keys in English and Chinese, and every key the
// templates and scripts use present in them.
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { after, before, describe, it } from "node:test";

import {
  formatDateTime, formatRelative, interpolate, languageName, matchLocale, pickLocale,
  registerCatalogue, setLocale, t, valueLabel
} from "../../agent_console/static/i18n.js";

const ROOT = new URL("../../", import.meta.url);
const read = (path) => readFileSync(new URL(path, ROOT), "utf8");
const json = (path) => JSON.parse(read(path));

const CONSOLE = "agent_console/static/";
const WIDGET = "bot/channels/static/";
// The console's catalogue serves the console, the supervisor page and the shared login form.
const CONSOLE_TEMPLATES = ["console.html", "supervisor.html", "_login.html"].map((n) => "agent_console/templates/" + n);
const CONSOLE_SCRIPTS = ["console.js", "console_state.js", "format.js", "labelling.js", "labelling_state.js",
  "supervisor.js", "supervisor_state.js", "common.js", "i18n.js"].map((n) => CONSOLE + n);
// valueLabel(group, value): the groups whose values the catalogue names (others humanized).
const GROUPS = {
  "ticket.status": ["new", "open", "pending", "on_hold", "solved", "closed"],
  "ticket.statusLabel": ["new", "open", "pending", "on_hold", "solved", "closed"],
  "priority": ["low", "normal", "high", "urgent"],
  "presence.state": ["online", "away", "offline"],
  "conversation.status": ["bot", "human", "resolved"],
  "channel": ["widget", "email", "rest"],
  "policy": ["manual", "round_robin", "least_busy"],
  "canned.scopeName": ["personal", "team", "global"],
  "language": ["en", "zh-CN"]
};

/* Keys in t("key") and t("key", ...) calls: literals only (a "prefix." + value is not one). */
function scriptKeys(source) {
  return [...source.matchAll(/\bt\(\s*"([^"]+)"\s*[,)]/g)].map((m) => m[1]);
}

function templateKeys(source) {
  return [...source.matchAll(/\bdata-i18n(?:-placeholder|-title|-aria-label)?="([^"]+)"/g)].map((m) => m[1]);
}

function groupsUsed(source) {
  return [...source.matchAll(/\bvalueLabel\(\s*"([^"]+)"/g)].map((m) => m[1]);
}

const placeholders = (text) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe("choosing the language", () => {
  it("maps every Chinese tag to zh-CN, the closest supported", () => {
    for (const tag of ["zh", "zh-CN", "zh-cn", "zh_CN", "zh-Hans", "zh-Hans-CN", "zh-SG", "zh-TW", "zh-HK", "zh-Hant-TW"]) {
      assert.equal(matchLocale(tag), "zh-CN", tag);
    }
    assert.equal(matchLocale("en-GB"), "en");
    assert.equal(matchLocale("fr"), null);
    assert.equal(matchLocale(""), null);
    assert.equal(matchLocale(undefined), null);
  });

  it("prefers the saved choice, then the browser's languages in order, then English", () => {
    assert.equal(pickLocale("zh-CN", ["en-US"]), "zh-CN");
    assert.equal(pickLocale("en", ["zh-CN"]), "en");
    assert.equal(pickLocale(null, ["zh-TW", "en"]), "zh-CN");
    assert.equal(pickLocale(null, ["fr-FR", "zh-Hans"]), "zh-CN");
    assert.equal(pickLocale(null, ["de", "fr"]), "en");
    assert.equal(pickLocale("klingon", ["zh-SG"]), "zh-CN");
    assert.equal(pickLocale(null, []), "en");
    assert.equal(pickLocale(undefined, "zh-HK"), "zh-CN");
    assert.equal(pickLocale(null, ["pt-BR"], ["en", "pt-BR"]), "pt-BR");
  });
});

describe("t()", () => {
  before(() => {
    registerCatalogue("zh-CN", { "greet": "你好，{name}！", "only.zh": "仅中文" });
    registerCatalogue("en", { "greet": "Hello {name}!", "only.en": "English only", "bare": "{a} and {b}" });
  });
  after(() => {  // the real catalogues again, for the tests below
    registerCatalogue("en", json(CONSOLE + "i18n/en.json"));
    registerCatalogue("zh-CN", json(CONSOLE + "i18n/zh-CN.json"));
    setLocale("en");
  });

  it("fills placeholders and leaves unknown ones", () => {
    setLocale("en");
    assert.equal(t("greet", { name: "Kim" }), "Hello Kim!");
    assert.equal(t("bare", { a: 1 }), "1 and {b}");
    assert.equal(t("bare", { a: 0, b: null }), "0 and {b}");
    assert.equal(interpolate("{x}{x}", { x: "y" }), "yy");
  });

  it("reads the chosen language, falls back to English, then to the key", () => {
    setLocale("zh-CN");
    assert.equal(t("greet", { name: "Kim" }), "你好，Kim！");
    assert.equal(t("only.en"), "English only");
    assert.equal(t("no.such.key"), "no.such.key");
    setLocale("zh-TW");  // mapped like a browser tag
    assert.equal(t("only.zh"), "仅中文");
    setLocale("en");
    assert.equal(t("only.zh"), "only.zh");
  });

  it("names enum values and languages, humanizing those the catalogue lacks", () => {
    registerCatalogue("en", { "ticket.status.on_hold": "on hold", "language.zh-CN": "Chinese" });
    registerCatalogue("zh-CN", { "language.zh-CN": "中文" });
    setLocale("en");
    assert.equal(valueLabel("ticket.status", "on_hold"), "on hold");
    assert.equal(valueLabel("ticket.status", "brand_new"), "brand new");
    assert.equal(valueLabel("ticket.status", null), "");
    assert.equal(languageName("zh-CN"), "Chinese");
    setLocale("zh-CN");
    assert.equal(languageName("zh-CN"), "中文");
    assert.equal(languageName("zh-TW"), "中文");
    assert.equal(languageName("fr"), "fr");
    assert.equal(languageName(""), "");
  });
});

describe("dates and times through Intl", () => {
  const at = "2026-03-05T14:07:00Z";
  // ICU versions differ in the space before "PM" (U+0020 or U+202F).
  const spaced = (text) => text.replace(/\s/g, " ");

  it("writes a time in the locale and time zone asked for", () => {
    assert.equal(spaced(formatDateTime(at, "en-US", "UTC")), "Mar 5, 02:07 PM");
    assert.equal(spaced(formatDateTime(at, "en-US", "Asia/Shanghai")), "Mar 5, 10:07 PM");
    assert.match(formatDateTime(at, "zh-CN", "Asia/Shanghai"), /3月5日.*22:07/);
    assert.equal(formatDateTime(at, "en-US", "UTC", { hour: "2-digit", minute: "2-digit", hour12: false }), "14:07");
  });

  it("keeps a time it cannot read, nothing for none, and survives an unknown zone", () => {
    assert.equal(formatDateTime("not a time", "en"), "not a time");
    assert.equal(formatDateTime("", "en"), "");
    assert.equal(formatDateTime(null, "en"), "");
    assert.equal(formatDateTime(at, "en-US", "Mars/Olympus_Mons").length > 0, true);
  });

  it("writes relative times", () => {
    const now = Date.parse(at);
    assert.equal(formatRelative(new Date(now - 5 * 60000), "en", now), "5 minutes ago");
    assert.equal(formatRelative(new Date(now + 2 * 3600000), "en", now), "in 2 hours");
    assert.equal(formatRelative(new Date(now - 86400000), "en", now), "yesterday");
    assert.equal(formatRelative(new Date(now - 5 * 60000), "zh-CN", now), "5分钟前");
    assert.equal(formatRelative(at, "en", now), "now");
    assert.equal(formatRelative("soon", "en", now), "soon");
  });
});

describe("the catalogues", () => {
  for (const [name, dir] of [["console", CONSOLE], ["widget", WIDGET]]) {
    it(`has the same keys and placeholders in English and Chinese (${name})`, () => {
      const files = readdirSync(new URL(dir + "i18n/", ROOT)).sort();
      assert.deepEqual(files, ["en.json", "zh-CN.json"]);
      const en = json(dir + "i18n/en.json"), zh = json(dir + "i18n/zh-CN.json");
      assert.deepEqual(Object.keys(zh).sort(), Object.keys(en).sort());
      for (const key of Object.keys(en)) {
        assert.equal(typeof en[key], "string", key);
        assert.ok(zh[key].trim(), "empty Chinese text for " + key);
        assert.deepEqual(placeholders(zh[key]), placeholders(en[key]), key);
      }
    });
  }

  it("has every key the console's templates and scripts use", () => {
    const en = json(CONSOLE + "i18n/en.json");
    const used = CONSOLE_TEMPLATES.flatMap((p) => templateKeys(read(p)))
      .concat(CONSOLE_SCRIPTS.flatMap((p) => scriptKeys(read(p))));
    assert.ok(used.length > 200, "the scan found " + used.length + " keys");
    assert.deepEqual([...new Set(used.filter((key) => !(key in en)))], []);
  });

  it("names every value of the enums the console shows", () => {
    const en = json(CONSOLE + "i18n/en.json");
    const groups = new Set(CONSOLE_SCRIPTS.flatMap((p) => groupsUsed(read(p))));
    for (const group of groups) {
      assert.ok(Object.keys(en).some((key) => key.startsWith(group + ".")), "no keys for " + group);
    }
    for (const [group, values] of Object.entries(GROUPS)) {
      for (const value of values) assert.ok((group + "." + value) in en, group + "." + value);
    }
  });

  it("has every key the widget uses, and the widget no words of its own", () => {
    const en = json(WIDGET + "i18n/en.json"), source = read(WIDGET + "widget.js");
    const used = scriptKeys(source);
    assert.ok(used.length > 30, "the scan found " + used.length + " keys");
    assert.deepEqual([...new Set(used.filter((key) => !(key in en)))], []);
    for (const words of ["Send", "Helpful", "Northwind Goods support", "is typing", "in the queue"]) {
      assert.equal(source.includes('"' + words), false, words);
    }
  });

  it("keeps the English the browser tests read", () => {
    setLocale("en");
    assert.equal(t("ticket.status.solved"), "solved");
    assert.equal(t("typing.customer"), "Customer is typing…");
    assert.match(t("note.header", { author: "Alex", time: "now" }), /only agents see this/);
    const widget = json(WIDGET + "i18n/en.json");
    assert.equal(interpolate(widget["queue.position"], { position: 1 }).includes("number 1 in the queue"), true);
    assert.equal(interpolate(widget["typing"], { name: "Alex Agent" }), "Alex Agent is typing…");
  });
});

describe("the account's saved preferences", () => {
  it("applies the saved language once, and nothing without one", async () => {
    const { adoptPreferences, locale } = await import("../../agent_console/static/i18n.js");
    registerCatalogue("en", json(CONSOLE + "i18n/en.json"));
    registerCatalogue("zh-CN", json(CONSOLE + "i18n/zh-CN.json"));
    setLocale("en");
    assert.equal(await adoptPreferences({ locale: null, time_zone: null }), false);
    assert.equal(locale(), "en");
    assert.equal(await adoptPreferences({ locale: "zh-CN", time_zone: "Asia/Shanghai" }), true);
    assert.equal(locale(), "zh-CN");
    assert.equal(await adoptPreferences({ locale: "zh-CN" }), false);
    setLocale("en");
  });
});
