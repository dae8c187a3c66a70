/* Click a column header of a table.sortable to sort by it (numbers by data-v); again to reverse. */
(function () {
  "use strict";
  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("thead th").forEach(function (th, col) {
      th.style.cursor = "pointer";
      th.addEventListener("click", function () {
        var asc = th.getAttribute("data-sort") !== "asc", text = th.getAttribute("data-type") === "text";
        table.querySelectorAll("thead th").forEach(function (o) { o.removeAttribute("data-sort"); });
        th.setAttribute("data-sort", asc ? "asc" : "desc");
        var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[col], y = b.cells[col];
          var d = text ? x.textContent.localeCompare(y.textContent)
                       : Number(x.getAttribute("data-v")) - Number(y.getAttribute("data-v"));
          return asc ? d : -d;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
})();
