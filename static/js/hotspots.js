/* Hot spot layer of the command-center map: Gi* cells from /api/hotspots coloured by confidence
 * bin (red hot, blue cold), with a legend and the run's choices and warnings. It follows the same
 * period and category filters as the incident layer (mapapp.period / mapapp.categories) and
 * reloads when any filter in the side panel changes. Text from the server is set as textContent. */
(function () {
  "use strict";
  var COLORS = {"3": "#b2182b", "2": "#ef8a62", "1": "#fddbc7", "0": "#f7f7f7",
                "-1": "#d1e5f0", "-2": "#67a9cf", "-3": "#2166ac"};
  var box = null, map = null, layer = null, pending = null;

  function status(text) { document.getElementById("hotspot-status").textContent = text; }

  function tooltip(p) {
    var el = document.createElement("div");
    [[box.dataset.count, p.count], ["z", p.z == null ? "–" : p.z.toFixed(2)],
     ["q", p.q == null ? "–" : p.q.toPrecision(2)], [box.dataset.bin, p.bin]].forEach(function (row) {
      var line = document.createElement("div");
      line.textContent = row[0] + ": " + row[1];
      el.appendChild(line);
    });
    return el;
  }

  function summary(meta) {
    var parts = [box.dataset.summary.replace("{cells}", meta.cell_count)
      .replace("{size}", meta.size_m == null ? "–" : Math.round(meta.size_m))
      .replace("{band}", meta.weights.distance_m != null ? Math.round(meta.weights.distance_m) + " m" : "k=" + meta.weights.k)
      .replace("{hot}", meta.significant_hot).replace("{cold}", meta.significant_cold)];
    meta.warnings.forEach(function (w) { parts.push(box.dataset["warn_" + w.code] || w.message); });
    return parts.join(" · ");
  }

  function load() {
    if (pending) pending.abort();
    if (!box.checked) { if (layer) { map.removeLayer(layer); layer = null; } return; }
    pending = new AbortController();
    var q = new URLSearchParams(window.mapapp.period()), cats = window.mapapp.categories();
    if (cats) q.set("category", cats.length ? cats.join(",") : "none");
    if (box.dataset.area) q.set("area", box.dataset.area);
    status(box.dataset.loading);
    document.body.removeAttribute("data-hotspots");
    fetch(box.dataset.url + "?" + q.toString(), {credentials: "same-origin", signal: pending.signal})
      .then(function (r) { return r.json().then(function (b) { if (!r.ok) throw new Error(b.message || r.status); return b; }); })
      .then(function (fc) {
        if (layer) map.removeLayer(layer);
        layer = L.geoJSON(fc, {style: function (f) {
          var b = String(f.properties.bin);
          return {color: "#666", weight: 0.4, fillColor: COLORS[b], fillOpacity: b === "0" ? 0.15 : 0.7};
        }, onEachFeature: function (f, l) { l.bindTooltip(function () { return tooltip(f.properties); }, {sticky: true}); }});
        layer.addTo(map);
        layer.bringToBack();
        status(summary(fc.meta));
        document.body.setAttribute("data-hotspots", String(fc.features.length));
        document.body.setAttribute("data-hotspots-query", q.toString());
      })
      .catch(function (e) {
        if (e.name === "AbortError") return;
        if (layer) { map.removeLayer(layer); layer = null; }
        status(box.dataset.refused + " " + e.message);
        document.body.setAttribute("data-hotspots", "error");
      });
  }

  window.mapappHotspots = {
    start: function (config) {
      map = window[config.layers.map];
      box = document.getElementById("hotspot-toggle");
      box.addEventListener("change", function () {
        document.getElementById("hotspot-legend").hidden = !box.checked;
        load();
      });
      document.getElementById("controls").addEventListener("change", function (e) {
        if (e.target !== box && box.checked) load();
      });
    },
    layer: function () { return layer; }
  };
})();
