/* fundaudit HTML report: sort any table.sortable by clicking a header; filter the findings by text
   and severity. Reads only the DOM (no data is embedded in this script); loads nothing. */
(function () {
  "use strict";
  var collator = new Intl.Collator(document.documentElement.lang || undefined, { numeric: true });
  var each = function (list, fn) { Array.prototype.forEach.call(list, fn); };

  function cellKey(row, col, numeric) {
    var cell = row.cells[col];
    if (!cell) { return numeric ? NaN : ""; }
    var raw = cell.hasAttribute("data-v") ? cell.getAttribute("data-v") : cell.textContent;
    if (!numeric) { return raw; }
    var n = raw === "" ? NaN : Number(raw.replace(/,/g, ""));
    return n;
  }

  function sortTable(table, col, th) {
    var numeric = th.getAttribute("data-type") === "num";
    var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
    each(th.parentNode.cells, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
    var body = table.tBodies[0];
    var keyed = Array.prototype.map.call(body.rows, function (r, i) {
      return { r: r, k: cellKey(r, col, numeric), i: i };
    });
    keyed.sort(function (a, b) {
      var c;
      if (numeric) {
        var an = isNaN(a.k), bn = isNaN(b.k);
        if (an || bn) { return an === bn ? a.i - b.i : (an ? 1 : -1); }
        c = a.k - b.k;
      } else {
        c = collator.compare(a.k, b.k);
      }
      return c * dir || a.i - b.i;
    });
    var frag = document.createDocumentFragment();
    keyed.forEach(function (x) { frag.appendChild(x.r); });
    body.appendChild(frag);
  }

  each(document.querySelectorAll("table.sortable"), function (table) {
    if (!table.tHead || !table.tBodies.length) { return; }
    each(table.tHead.rows[0].cells, function (th, col) {
      if (!th.hasAttribute("data-type")) { return; }
      th.tabIndex = 0;
      th.addEventListener("click", function () { sortTable(table, col, th); });
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortTable(table, col, th); }
      });
    });
  });

  var form = document.getElementById("filter");
  if (!form) { return; }
  var box = document.getElementById("fq");
  var checks = form.querySelectorAll("input.fsev");
  var groups = document.querySelectorAll("section.rule-group");
  var counter = document.getElementById("fcount");
  var none = document.getElementById("fnone");
  var fmt = counter.getAttribute("data-fmt") || "{shown} / {total}";
  var total = document.querySelectorAll("tr.f").length;

  function apply() {
    var needle = box.value.trim().toLowerCase();
    var wanted = {};
    each(checks, function (c) { wanted[c.value] = c.checked; });
    var shown = 0;
    each(groups, function (g) {
      var rows = g.querySelectorAll("tr.f");
      var visible = 0;
      each(rows, function (r) {
        if (needle && r._text === undefined) { r._text = r.textContent.toLowerCase(); }
        var ok = wanted[r.getAttribute("data-sev")] !== false && (!needle || r._text.indexOf(needle) !== -1);
        r.hidden = !ok;
        if (ok) { visible += 1; }
      });
      g.hidden = rows.length > 0 && visible === 0;
      shown += visible;
    });
    counter.textContent = fmt.replace("{shown}", shown.toLocaleString()).replace("{total}", total.toLocaleString());
    none.hidden = shown !== 0 || total === 0;
  }

  var timer = 0;
  box.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(apply, 120); });
  each(checks, function (c) { c.addEventListener("change", apply); });
  form.addEventListener("submit", function (e) { e.preventDefault(); apply(); });
  counter.textContent = fmt.replace("{shown}", total.toLocaleString()).replace("{total}", total.toLocaleString());
}());
