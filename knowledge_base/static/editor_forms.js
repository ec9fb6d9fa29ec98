/* The knowledge-base editor pages' form logic, apart from the DOM so tests/frontend can
 * check it: the article body from the form, the version diff as text, the import summary. */

/* "a, b,, c" -> ["a", "b", "c"]. */
export function splitList(value, separator) {
  return String(value || "").split(separator).map((s) => s.trim()).filter(Boolean);
}

/* The article request from the form's fields (a FormData or anything with get(name)). */
export function articleBody(fields) {
  return {
    title: fields.get("title"), category: fields.get("category"), locale: fields.get("locale"), body: fields.get("body"),
    translation_group: fields.get("translation_group") || null,
    tags: splitList(fields.get("tags"), ","), related_slugs: splitList(fields.get("related_slugs"), ","),
    alternative_questions: splitList(fields.get("alternative_questions"), "\n")
  };
}

/* The diff API's answer ({field: [lines]}) as one text, a "## field" head per field. */
export function diffText(diff) {
  return Object.entries(diff).map(([field, lines]) => `## ${field}\n${lines.join("\n")}`).join("\n\n") || "No differences.";
}

export function importSummary(r) {
  return `created ${r.created}, updated ${r.updated}, unchanged ${r.unchanged}`;
}

/* "3,7,9" (a button's data-gaps) -> [3, 7, 9]. */
export function gapIds(value) {
  return String(value).split(",").map(Number);
}
