/* The staff pages' translations: JSON catalogues (./i18n/<locale>.json: flat keys, "{name}"
 * placeholders), the language choice, and dates and times through Intl in the user's locale
 * and time zone.
 *
 * - English loads with this module (top-level await), so t() always has its fallback: a key
 *   missing from the chosen catalogue reads in English, and one missing there too reads as
 *   the key itself.
 * - Pages that offer a language (the console and the supervisor page) call startLocale():
 *   the choice saved in localStorage ("tandem.locale"), else the browser's languages. Until
 *   then (the ML and report pages) messages are English and dates follow the browser.
 * - Elements marked data-i18n="key" get their text from the catalogue, data-i18n-placeholder,
 *   data-i18n-title and data-i18n-aria-label the attribute (applyTranslations).
 * - Times show in the browser's time zone unless one is saved ("tandem.timeZone").
 *
 * No DOM access outside applyTranslations and useLocale (tests/frontend imports it; there
 * the catalogues are read from disk, as Node's fetch cannot read files). */

export const SUPPORTED = ["en", "zh-CN"];
export const DEFAULT_LOCALE = "en";
export const LOCALE_KEY = "tandem.locale";
export const TIME_ZONE_KEY = "tandem.timeZone";

const catalogues = {};
let current = null;  // null: no language chosen; messages in English, dates as the browser has them

const hasOwn = (object, key) => !!object && Object.prototype.hasOwnProperty.call(object, key);

/* The supported locale a language tag stands for, or null: the same tag (any case, "_" or
 * "-"), else one of the same language (zh, zh-Hans, zh-SG, zh-TW, zh-HK -> zh-CN; en-GB -> en). */
export function matchLocale(tag, supported = SUPPORTED) {
  if (typeof tag !== "string" || !tag.trim()) return null;
  const wanted = tag.trim().replace(/_/g, "-").toLowerCase();
  const exact = supported.find((s) => s.toLowerCase() === wanted);
  if (exact) return exact;
  const language = wanted.split("-")[0];
  return supported.find((s) => s.toLowerCase().split("-")[0] === language) || null;
}

/* The locale to show: the saved choice if it is supported, else the first of the browser's
 * languages that is, else English. */
export function pickLocale(saved, navigatorLanguages, supported = SUPPORTED) {
  const languages = Array.isArray(navigatorLanguages) ? navigatorLanguages : [navigatorLanguages];
  for (const tag of [saved].concat(languages)) {
    const hit = matchLocale(tag, supported);
    if (hit) return hit;
  }
  return supported.indexOf(DEFAULT_LOCALE) >= 0 ? DEFAULT_LOCALE : supported[0];
}

export function registerCatalogue(locale, messages) {
  catalogues[locale] = messages || {};
}

export function catalogue(locale) { return catalogues[locale] || null; }

async function readCatalogue(locale) {
  const url = new URL("./i18n/" + locale + ".json", import.meta.url);
  if (url.protocol === "file:") {  // tests/frontend under Node
    const { readFile } = await import("node:fs/promises");
    return JSON.parse(await readFile(url, "utf8"));
  }
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) throw new Error("HTTP " + response.status);
  return response.json();
}

/* Fetches a supported locale's catalogue once and keeps it; null if it cannot be had (the
 * page then reads in English). Never rejects. */
export async function loadCatalogue(locale) {
  if (SUPPORTED.indexOf(locale) < 0) return null;
  if (catalogues[locale]) return catalogues[locale];
  try {
    registerCatalogue(locale, await readCatalogue(locale));
    return catalogues[locale];
  } catch (err) {
    if (typeof console !== "undefined") console.warn("translations for " + locale + " not loaded:", err);
    return null;
  }
}

/* The chosen locale, or null while the page has not chosen one. */
export function locale() { return current; }

/* Chooses the locale for t() (its catalogue should be registered; English otherwise). */
export function setLocale(value) {
  current = matchLocale(value) || DEFAULT_LOCALE;
  return current;
}

/* "Hello {name}" with {name: "Kim"} -> "Hello Kim"; unknown placeholders stay as they are. */
export function interpolate(text, params) {
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name) =>
    (hasOwn(params, name) && params[name] !== null && params[name] !== undefined ? String(params[name]) : whole));
}

function lookup(key) {
  if (current && hasOwn(catalogues[current], key)) return catalogues[current][key];
  if (hasOwn(catalogues[DEFAULT_LOCALE], key)) return catalogues[DEFAULT_LOCALE][key];
  return undefined;
}

/* The text for a key in the chosen locale, English if it has none, else the key. */
export function t(key, params) {
  const text = lookup(key);
  return interpolate(text === undefined ? key : text, params);
}

export function has(key) { return lookup(key) !== undefined; }

/* The words for an enum value ("ticket.status" + "on_hold"), or the value with its
 * underscores as spaces when the catalogue has none. */
export function valueLabel(group, value) {
  if (value === null || value === undefined || value === "") return "";
  const key = group + "." + value;
  return has(key) ? t(key) : String(value).replace(/_/g, " ");
}

/* The name of a language for a badge ("language.zh-CN"); the tag itself for one the
 * catalogue does not name; "" for none. */
export function languageName(tag) {
  if (!tag) return "";
  const known = matchLocale(tag);
  return known && has("language." + known) ? t("language." + known) : String(tag);
}

const ATTRIBUTES = [["data-i18n-placeholder", "placeholder"], ["data-i18n-title", "title"],
  ["data-i18n-aria-label", "aria-label"]];
const MARKED = "[data-i18n],[data-i18n-placeholder],[data-i18n-title],[data-i18n-aria-label]";

/* Fills the marked elements in root (and root itself) from the catalogue. */
export function applyTranslations(root) {
  const nodes = Array.prototype.slice.call(root.querySelectorAll(MARKED));
  if (root.matches && root.matches(MARKED)) nodes.unshift(root);
  nodes.forEach((node) => {
    const key = node.getAttribute("data-i18n");
    if (key) node.textContent = t(key);
    ATTRIBUTES.forEach(([data, attribute]) => {
      const attributeKey = node.getAttribute(data);
      if (attributeKey) node.setAttribute(attribute, t(attributeKey));
    });
  });
  return root;
}

function storage() {
  try { return typeof localStorage === "undefined" ? null : localStorage; } catch { return null; }
}

function savedValue(key) {
  const store = storage();
  try { return store ? store.getItem(key) : null; } catch { return null; }
}

export function browserLanguages() {
  if (typeof navigator === "undefined") return [];
  return (navigator.languages && navigator.languages.length) ? Array.from(navigator.languages) : [navigator.language];
}

/* Loads and applies a locale: t(), <html lang> and the page's marked elements; saved for
 * the next visit when `save`. */
export async function useLocale(value, save = false) {
  const chosen = matchLocale(value) || DEFAULT_LOCALE;
  await loadCatalogue(chosen);
  setLocale(chosen);
  if (save) {
    const store = storage();
    try { if (store) store.setItem(LOCALE_KEY, chosen); } catch { /* private mode: not kept */ }
  }
  if (typeof document !== "undefined") {
    document.documentElement.lang = chosen;
    applyTranslations(document);
  }
  return chosen;
}

/* A page that offers the languages: the saved choice, else the browser's. */
export function startLocale() {
  return useLocale(pickLocale(savedValue(LOCALE_KEY), browserLanguages()));
}

/* The staff member's saved preferences (GET /api/v1/auth/me: locale, time_zone) win over
 * this browser's: the time zone is kept for timeZone(), and the language applied when it
 * differs from the page's. Resolves to whether the language changed. */
export async function adoptPreferences(me) {
  const store = storage();
  if (me && me.time_zone && validTimeZone(me.time_zone)) {
    try { if (store) store.setItem(TIME_ZONE_KEY, me.time_zone); } catch { /* not kept */ }
  }
  const wanted = me && matchLocale(me.locale);
  if (!wanted || wanted === current) return false;
  await useLocale(wanted, true);
  return true;
}

/* ---------- dates and times ---------- */

export const DATE_TIME = { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" };
export const TIME = { hour: "2-digit", minute: "2-digit", second: "2-digit" };

function validTimeZone(zone) {
  try { new Intl.DateTimeFormat("en", { timeZone: zone }); return true; } catch { return false; }
}

/* The saved time zone if it is a real one, else the browser's. */
export function timeZone() {
  const saved = savedValue(TIME_ZONE_KEY);
  if (saved && validTimeZone(saved)) return saved;
  try { return Intl.DateTimeFormat().resolvedOptions().timeZone; } catch { return undefined; }
}

function toDate(value) {
  if (value instanceof Date) return value;
  return new Date(typeof value === "number" ? value : String(value));
}

/* A date and time for people in `locale` (the browser's when none) and `zone`; "" for none,
 * the value itself when it is not a time. */
export function formatDateTime(value, locale, zone, options = DATE_TIME) {
  if (value === null || value === undefined || value === "") return "";
  const date = toDate(value);
  if (Number.isNaN(date.getTime())) return String(value);
  const tag = locale || undefined;
  try {
    return new Intl.DateTimeFormat(tag, zone ? { ...options, timeZone: zone } : options).format(date);
  } catch {
    return new Intl.DateTimeFormat(tag, options).format(date);  // a zone or tag Intl does not know
  }
}

const UNITS = [["year", 365 * 86400], ["month", 30 * 86400], ["week", 7 * 86400], ["day", 86400],
  ["hour", 3600], ["minute", 60], ["second", 1]];

/* "5 minutes ago", "in 2 hours", "yesterday"; "" for none, the value itself when it is not a time. */
export function formatRelative(value, locale, now = Date.now()) {
  if (value === null || value === undefined || value === "") return "";
  const date = toDate(value);
  if (Number.isNaN(date.getTime())) return String(value);
  const seconds = (date.getTime() - (now instanceof Date ? now.getTime() : now)) / 1000;
  const [unit, size] = UNITS.find(([, s]) => Math.abs(seconds) >= s) || ["second", 1];
  return new Intl.RelativeTimeFormat(locale || undefined, { numeric: "auto" }).format(Math.round(seconds / size), unit);
}

/* The same in the page's locale and time zone. */
export function dateTime(value, options) { return formatDateTime(value, current, timeZone(), options); }
export function relativeTime(value, now) { return formatRelative(value, current, now); }

await loadCatalogue(DEFAULT_LOCALE);
