/* One article in the editor (/kb/editor/articles/{id}, /kb/editor/new): save (with the
 * version it was edited from, for optimistic locking), the workflow buttons the page was
 * rendered with, diff and restore of earlier versions. */
import { api } from "/console/static/api.js";
import { show } from "./editor_common.js";
import { articleBody, diffText } from "./editor_forms.js";

const ARTICLES = "/api/v1/kb/editor/articles";
const form = document.getElementById("article-form");
const id = form.dataset.id, version = Number(form.dataset.version);

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const fields = new FormData(form), body = articleBody(fields);
  try {
    if (id) { await api("PUT", `${ARTICLES}/${id}`, { ...body, version }); location.reload(); }
    else { const a = await api("POST", ARTICLES, { ...body, slug: fields.get("slug") || "" }); location.href = `/kb/editor/articles/${a.id}`; }
  } catch (e) { show("save-result", e.message, false); }
});

document.querySelectorAll("[data-action]").forEach((button) => button.addEventListener("click", async () => {
  const action = button.dataset.action;
  try { await api("POST", `${ARTICLES}/${id}/${action}`, { version, status: button.dataset.status }); location.reload(); }
  catch (e) { show("workflow-result", e.message, false); }
}));

document.querySelectorAll("[data-diff]").forEach((button) => button.addEventListener("click", async () => {
  const out = document.getElementById("diff");
  try { out.textContent = diffText(await api("GET", `${ARTICLES}/${id}/diff?from=${button.dataset.diff}&to=${version}`)); }
  catch (e) { out.textContent = e.message; }
}));

document.querySelectorAll("[data-restore]").forEach((button) => button.addEventListener("click", async () => {
  try { await api("POST", `${ARTICLES}/${id}/restore`, { version, restore_version: Number(button.dataset.restore) }); location.reload(); }
  catch (e) { show("workflow-result", e.message, false); }
}));
