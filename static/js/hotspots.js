/* Hot spot layers of the command-center map: Gi* cells from /api/hotspots coloured by confidence
 * bin (red hot, blue cold), with a legend and the run's choices and warnings; DBSCAN cluster hulls
 * and a kernel-density heat raster with its bandwidth. It follows the same filters as the
 * incident layer (mapapp.query) and
 * reloads when any filter in the side panel changes. Text from the server is set as textContent. */
(function () {
  "use strict";
  var COLORS = {"3": "#b2182b", "2": "#ef8a62", "1": "#fddbc7", "0": "#f7f7f7",
                "-1": "#d1e5f0", "-2": "#67a9cf", "-3": "#2166ac"};
  var box = null, map = null, layer = null, pending = null;

  // the incident layer's own filters (period, category, status, grid/community, overdue) and the area
  function filterQuery(el) {
    var q = window.mapapp.query();
    if (el.dataset.area) q.set("area", el.dataset.area);
    return q;
  }

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
    var q = filterQuery(box), pvalues = document.getElementById("hotspot-pvalues").value;
    if (pvalues) q.set("permutations", pvalues);
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

  // DBSCAN cluster hulls and the kernel-density heat raster: the same filters, their own toggles.
  var extra = {clusters: null, heat: null}, labels = {};


  function heatImage(d) {
    var canvas = document.createElement("canvas"), ctx = canvas.getContext("2d");
    canvas.width = d.width; canvas.height = d.height;
    var img = ctx.createImageData(d.width, d.height), max = d.max || 1;
    d.values.forEach(function (row, r) {
      row.forEach(function (v, c) {
        var t = Math.min(1, v / max), k = 4 * (r * d.width + c);
        img.data[k] = 255; img.data[k + 1] = Math.round(220 * (1 - t)); img.data[k + 2] = 0;
        img.data[k + 3] = t < 0.05 ? 0 : Math.round(60 + 160 * t);
      });
    });
    ctx.putImageData(img, 0, 0);
    return canvas.toDataURL();
  }

  function loadExtra(name) {
    var el = document.getElementById(name + "-toggle"), note = document.getElementById("hotspot-extra");
    if (extra[name]) { map.removeLayer(extra[name]); extra[name] = null; }
    document.body.removeAttribute("data-" + name);
    if (!el.checked) return;
    fetch(el.dataset.url + "?" + filterQuery(el).toString(), {credentials: "same-origin"})
      .then(function (r) { return r.json().then(function (b) { if (!r.ok) throw new Error(b.message || r.status); return b; }); })
      .then(function (body) {
        if (extra[name]) map.removeLayer(extra[name]);
        if (name === "clusters") {
          extra[name] = L.geoJSON(body, {style: {color: "#6a3d9a", weight: 2, dashArray: "4 3", fillOpacity: 0.08},
            onEachFeature: function (f, l) {
              l.bindTooltip(function () {
                var t = document.createElement("div");
                t.textContent = el.dataset.tip.replace("{count}", f.properties.count)
                  .replace("{category}", labels[f.properties.dominant_category] || f.properties.dominant_category);
                return t;
              }, {sticky: true});
            }});
          document.body.setAttribute("data-clusters", String(body.features.length));
        } else {
          extra[name] = L.imageOverlay(heatImage(body), body.bounds_lonlat, {opacity: 0.75, interactive: false});
          note.textContent = el.dataset.note.replace("{bandwidth}", Math.round(body.meta.bandwidth_m))
            .replace("{rule}", body.meta.bandwidth_rule);
          document.body.setAttribute("data-heat", String(body.meta.bandwidth_m));
        }
        extra[name].addTo(map);
      })
      .catch(function (e) { note.textContent = el.dataset.refused + " " + e.message; });
  }

  window.mapappHotspots = {
    start: function (config) {
      map = window[config.layers.map];
      config.categories.forEach(function (t) {
        labels[t.code] = t.label;
        t.children.forEach(function (c) { labels[c.code] = c.label; });
      });
      box = document.getElementById("hotspot-toggle");
      box.addEventListener("change", function () {
        document.getElementById("hotspot-legend").hidden = !box.checked;
        load();
      });
      ["clusters", "heat"].forEach(function (name) {
        document.getElementById(name + "-toggle").addEventListener("change", function () { loadExtra(name); });
      });
      document.getElementById("controls").addEventListener("change", function (e) {
        var own = ["hotspot-toggle", "clusters-toggle", "heat-toggle"].indexOf(e.target.id) >= 0;
        if (own) return;
        if (e.target.id === "hotspot-pvalues") { if (box.checked) load(); return; }
        if (box.checked) load();
        ["clusters", "heat"].forEach(function (name) { if (document.getElementById(name + "-toggle").checked) loadExtra(name); });
      });
    },
    layer: function () { return layer; },
    extra: function (name) { return extra[name]; }
  };
})();
