/* The article list (/kb/editor): importing JSONL, CSV or a Markdown zip. */
import { api } from "/console/static/api.js";
import { show } from "./editor_common.js";
import { importSummary } from "./editor_forms.js";

document.getElementById("import-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target), fmt = form.get("format");
  form.delete("format");
  try {
    const r = await api("POST", "/api/v1/kb/editor/import?format=" + fmt, form);
    show("import-result", importSummary(r), true);
  } catch (e) { show("import-result", e.message, false); }
});
