/* Shared by the ML team's pages: the permission gate, table rows and small formatters.
 * Data is set with textContent, never innerHTML (window.Tandem from common.js). */
(function () {
  "use strict";
  var T = window.Tandem, el = T.el;

  /* Start the page once logged in, or explain which permission it needs. */
  function startPage(permission, start) {
    T.startWithLogin(function (me) {
      if ((me.permissions || []).indexOf(permission) < 0) {
        var main = T.$("ml-main");
        main.textContent = "";
        main.appendChild(el("div", "empty card wide",
          "This page is for the ML team (it needs the permission '" + permission + "')."));
        return;
      }
      start(me);
    });
  }

  function can(me, permission) { return (me.permissions || []).indexOf(permission) >= 0; }

  /* A table row from cells: strings, numbers or DOM nodes. */
  function row(cells) {
    var tr = el("tr");
    cells.forEach(function (cell) {
      var td = el("td");
      if (cell instanceof Node) td.appendChild(cell);
      else td.textContent = cell === null || cell === undefined ? "" : String(cell);
      tr.appendChild(td);
    });
    return tr;
  }

  function fill(table, rows, emptyText, columns) {
    var body = (typeof table === "string" ? T.$(table) : table).querySelector("tbody");
    body.textContent = "";
    if (!rows.length) {
      var tr = el("tr"), td = el("td", "empty", emptyText);
      td.colSpan = columns;
      tr.appendChild(td);
      body.appendChild(tr);
    }
    rows.forEach(function (r) { body.appendChild(r); });
    return body;
  }

  function pct(value) {
    return value === null || value === undefined ? "–" : (100 * value).toFixed(1) + "%";
  }

  function signedPoints(delta) {
    if (delta === null || delta === undefined) return el("span", "delta", "–");
    var points = 100 * delta;
    return el("span", "delta " + (points > 0.05 ? "up" : points < -0.05 ? "down" : ""),
      (points > 0 ? "+" : "") + points.toFixed(1));
  }

  function stamp() { T.$("updated").textContent = "Updated " + new Date().toLocaleTimeString(); }

  window.TandemML = { startPage: startPage, can: can, row: row, fill: fill, pct: pct,
                      signedPoints: signedPoints, stamp: stamp };
})();
