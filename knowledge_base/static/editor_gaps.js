/* Knowledge gaps (/kb/editor/gaps): start an article draft from a cluster of questions. */
import { api } from "/console/static/api.js";
import { show } from "./editor_common.js";
import { gapIds } from "./editor_forms.js";

document.querySelectorAll("[data-gaps]").forEach((button) => button.addEventListener("click", async () => {
  try {
    const a = await api("POST", "/api/v1/kb/editor/gaps/article", { gap_ids: gapIds(button.dataset.gaps) });
    location.href = `/kb/editor/articles/${a.id}`;
  } catch (e) { show("gap-result", e.message, false); }
}));
