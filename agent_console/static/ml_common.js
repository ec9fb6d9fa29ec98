/* Shared by the ML team's pages: the permission gate, the signed-delta cell and the
 * "updated" stamp. Data is set with textContent, never innerHTML. */
import { $, el, startWithLogin } from "/console/static/common.js";
import { can, signedPoints } from "./ml_state.js";

/* Start the page once logged in, or explain which permission it needs. */
export function startPage(permission, start) {
  startWithLogin((me) => {
    if (!can(me, permission)) {
      const main = $("ml-main");
      main.textContent = "";
      main.appendChild(el("div", "empty card wide",
        "This page is for the ML team (it needs the permission '" + permission + "')."));
      return;
    }
    start(me);
  });
}

export function deltaCell(delta) {
  const view = signedPoints(delta);
  return el("span", "delta" + (view.tone ? " " + view.tone : ""), view.text);
}

export function stamp() { $("updated").textContent = "Updated " + new Date().toLocaleTimeString(); }
