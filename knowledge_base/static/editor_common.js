/* Shared by the knowledge-base editor pages: the result line under a form. Actions go
 * through the JSON API (api.js) with the session cookie; errors show the API's message. */
export function show(id, text, ok) {
  const node = document.getElementById(id);
  node.textContent = text;
  node.className = ok ? "ok" : "error";
}
