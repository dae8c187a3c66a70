/* Command-center map: fills the folium layers with incidents and the offline base map fetched
 * by bounding box, binds grid tooltips and the grid side panel. Every piece of user text is
 * escaped (esc) or set with textContent: names and descriptions come from imported files. */
(function () {
  "use strict";
  var cfg = null, map = null, incidentLayer = null, basemapLayer = null;
  var colors = {}, labels = {}, pending = null, basemapKey = null, baseCanvas = null;
  var lastEvent = null, POLL_MS = 5000, tileVersion = null, tilesHidden = false;  // new incidents show within 5 s

  function esc(value) {
    return String(value == null ? "" : value).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }
  function s(key, values) {
    var text = (cfg && cfg.strings[key]) || key;
    Object.keys(values || {}).forEach(function (k) { text = text.replace("{" + k + "}", values[k]); });
    return text;
  }
  function fmt(n) { return n == null ? "–" : Number(n).toLocaleString(cfg.lang === "zh" ? "zh-CN" : "en"); }

  function teamRows(team) {
    return ["grid_head", "police_officer", "assistant", "supervisor"].map(function (k) {
      var v = team && team[k];
      return "<tr><th>" + esc(s("team." + k)) + "</th><td>" + (v ? esc(v) : '<i>' + esc(s("team.unassigned")) + "</i>") + "</td></tr>";
    }).join("");
  }

  function gridTooltip(p) {
    var est = p.estimated ? " " + esc(s("grid.estimated")) : "";
    return '<table class="tip"><tr><th colspan="2">' + esc(p.name) + "</th></tr>" +
      "<tr><th>" + esc(s("grid.code")) + "</th><td>" + esc(p.code) + "</td></tr>" +
      "<tr><th>" + esc(s("grid.community")) + "</th><td>" + esc(p.community_name) + "</td></tr>" +
      "<tr><th>" + esc(s("grid.households")) + "</th><td>" + esc(fmt(p.households)) + est + "</td></tr>" +
      "<tr><th>" + esc(s("grid.population")) + "</th><td>" + esc(fmt(p.population)) + est + "</td></tr>" +
      teamRows(p.team) + "</table>";
  }

  var api = {
    bindAreaTooltip: function (f, layer) {
      layer.bindTooltip(esc(f.properties.name) + " (" + esc(f.properties.code) + ")", {sticky: true});
    },
    bindKeyPlace: function (f, layer) {
      var p = f.properties;
      layer.bindTooltip("<b>" + esc(p.name || p.label) + "</b><br>" + esc(p.label));
    },
    bindGrid: function (f, layer) {
      // The page's strings arrive after folium draws; build the tooltip when it opens.
      layer.bindTooltip(function () { return gridTooltip(f.properties); }, {sticky: true});
      layer.on("click", function () { api.openGridPanel(f.properties.code); });
    },

    period: function () {
      var v = document.getElementById("period").value, out = {};
      if (v === "custom") {
        var a = document.getElementById("since").value, b = document.getElementById("until").value;
        if (a) out.since = a;
        if (b) { var d = new Date(b + "T00:00:00Z"); d.setUTCDate(d.getUTCDate() + 1); out.until = d.toISOString().slice(0, 10); }
      } else if (v !== "all") {
        out.since = v;
      }
      return out;
    },
    categories: function () {
      var boxes = document.querySelectorAll(".cat-box"), on = [];
      boxes.forEach(function (b) { if (b.checked) on.push(b.value); });
      return on.length === boxes.length ? null : on;
    },
    query: function (extra) {
      var q = new URLSearchParams(api.period()), cats = api.categories();
      if (cats && cats.length) q.set("category", cats.join(","));
      if (document.getElementById("overdue-only").checked) q.set("overdue", "true");
      var status = document.getElementById("status-filter").value, where = document.getElementById("where-filter").value;
      if (status) q.set("status", status);
      if (where) q.set(where.split(":")[0], where.slice(where.indexOf(":") + 1));
      Object.keys(extra || {}).forEach(function (k) { q.set(k, extra[k]); });
      return q;
    },

    // Vector-tile clusters below cfg.pointZoom: a bubble per cell, sized by its count.
    tileOptions: function () {
      function bubble(p) {
        var r = Math.min(3 + 1.5 * Math.sqrt(p.count), 14);  // a cell is 16 px wide
        return {radius: r, fill: true, fillColor: colors[p.top] || "#555", fillOpacity: 0.55,
                color: p.overdue ? "#000" : "#fff", weight: p.overdue ? 2 : 1};
      }
      return {
        interactive: false, pane: "shadowPane", maxNativeZoom: 20,  // above grids and the base map
        // from pointZoom on the GeoJSON layer draws: fetch no tiles there (folium builds this
        // layer before mapapp.start, so the page's config is read here)
        maxZoom: JSON.parse(document.getElementById("mapapp-config").textContent).pointZoom - 1,
        vectorTileLayerStyles: {
          clusters: function (p, zoom) { return zoom < cfg.pointZoom && !tilesHidden ? bubble(p) : []; },
          incidents: function () { return []; }  // from pointZoom on, the GeoJSON layer draws them
        }
      };
    },
    tileUrl: function () {
      var q = api.query(), since = q.get("since");
      if (since && /^\d+[hd]$/.test(since)) {  // a fixed time, so the URL (and its cache) stays valid
        var n = parseInt(since, 10), ms = since.slice(-1) === "h" ? 3600e3 : 86400e3;
        q.set("since", new Date(Math.floor((Date.now() - n * ms) / 60000) * 60000).toISOString());
      }
      if (tileVersion) q.set("v", tileVersion);
      return cfg.urls.tiles + "?" + q.toString();
    },
    refreshTiles: function () {
      var layer = window[cfg.layers.clusters], cats = api.categories();
      if (!layer) return;
      // Leaflet's redraw ignores the layer's maxZoom: above it only the URL changes
      var idle = map.getZoom() > layer.options.maxZoom;
      tilesHidden = !!(cats && cats.length === 0);
      if (tilesHidden) { if (!idle) layer.redraw(); return; }
      fetch(cfg.urls.tileVersion, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (v) {
        tileVersion = v.version;
        layer.setUrl(api.tileUrl(), idle);
      });
    },

    loadIncidents: function () {
      var b = map.getBounds(), status = document.getElementById("status");
      if (map.getZoom() < cfg.pointZoom) {
        incidentLayer.clearLayers();
        map.getContainer().setAttribute("data-incidents", "0");
        status.textContent = s("status.zoom_in", {zoom: cfg.pointZoom});
        return;
      }
      var cats = api.categories();
      if (cats && cats.length === 0) { incidentLayer.clearLayers(); status.textContent = s("status.shown", {shown: 0, matched: 0}); return; }
      var q = api.query({bbox: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(6); }).join(","), limit: 5000});
      if (pending) pending.abort();
      pending = new AbortController();
      status.textContent = s("status.loading");
      fetch(cfg.urls.incidents + "?" + q.toString(), {signal: pending.signal, credentials: "same-origin"})
        .then(function (r) { return r.json().then(function (body) { if (!r.ok) throw new Error(body.message || r.status); return body; }); })
        .then(function (fc) {
          incidentLayer.clearLayers();
          fc.features.forEach(function (f) {
            var p = f.properties, c = f.geometry.coordinates, open = p.status !== "closed" && p.status !== "voided";
            var color = colors[p.category] || "#555";
            var mk = L.circleMarker([c[1], c[0]], {radius: p.overdue ? 5 : 4, weight: p.overdue ? 2.5 : 1,
              color: p.overdue ? "#000" : color, fillColor: color, fillOpacity: open ? 0.85 : 0.0, opacity: 0.9});
            mk.incidentId = p.id;
            mk.bindPopup(function () { return api.incidentPopup(p); });
            incidentLayer.addLayer(mk);
          });
          map.getContainer().setAttribute("data-incidents", String(fc.numberReturned));
          status.textContent = fc.numberMatched > fc.numberReturned
            ? s("status.capped", {shown: fmt(fc.numberReturned)}) + " (" + s("status.shown", {shown: fmt(fc.numberReturned), matched: fmt(fc.numberMatched)}) + ")"
            : s("status.shown", {shown: fmt(fc.numberReturned), matched: fmt(fc.numberMatched)});
        })
        .catch(function (e) { if (e.name !== "AbortError") status.textContent = s("status.error", {message: e.message}); });
    },

    incidentPopup: function (p) {
      var flag = p.assign_flag ? '<tr><td colspan="2" class="flag">' + esc(s("incident.flag." + p.assign_flag)) + "</td></tr>" : "";
      var sim = p.simulated ? '<span class="badge simulated">' + esc(s("simulated.badge")) + "</span> " : "";
      return '<table class="tip">' +
        "<tr><th>" + esc(s("incident.category")) + "</th><td>" + esc(labels[p.category] || p.category) + "</td></tr>" +
        "<tr><th>" + esc(s("incident.status")) + "</th><td>" + esc(s("incident.status." + p.status)) + "</td></tr>" +
        "<tr><th>" + esc(s("incident.reported_at")) + "</th><td>" + esc(p.reported_at ? new Date(p.reported_at).toLocaleString(cfg.lang === "zh" ? "zh-CN" : "en") : "–") + "</td></tr>" +
        "<tr><th>" + esc(s("incident.source")) + "</th><td>" + esc(p.source) + "</td></tr>" +
        "<tr><th>" + esc(s("incident.grid")) + "</th><td>" + esc(p.grid || "–") + "</td></tr>" + flag +
        (p.due_at ? "<tr><th>" + esc(s("incident.due_at")) + "</th><td>" + esc(api.when(p.due_at)) +
          (p.overdue ? ' <b class="overdue">' + esc(s("incident.overdue")) + "</b>" : "") + "</td></tr>" : "") +
        '<tr><td colspan="2">' + sim + esc(p.description) + "</td></tr></table>";
    },

    when: function (iso) {
      return iso ? new Date(iso).toLocaleString(cfg.lang === "zh" ? "zh-CN" : "en") : "–";
    },

    loadLatest: function (fresh) {
      var q = api.query({limit: 20});
      var cats = api.categories(), list = document.getElementById("latest");
      if (cats && cats.length === 0) { list.innerHTML = "<li>" + esc(s("latest.empty")) + "</li>"; return; }
      fetch(cfg.urls.latest + "?" + q.toString(), {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (fc) {
        list.innerHTML = fc.features.length ? "" : "<li>" + esc(s("latest.empty")) + "</li>";
        fc.features.forEach(function (f) {
          var p = f.properties, li = document.createElement("li");
          li.setAttribute("data-id", p.id);
          if (fresh && fresh.indexOf(p.id) >= 0) li.className = "fresh";
          li.innerHTML = '<span class="swatch" style="background:' + esc(colors[p.category] || "#555") + '"></span>' +
            esc(labels[p.category] || p.category) + ' <span class="when">' + esc(api.when(p.reported_at)) + "</span>" +
            (p.overdue ? ' <span class="overdue">' + esc(s("incident.overdue")) + "</span>" : "");
          li.addEventListener("click", function () { api.showIncident(p.id, f.geometry.coordinates); });
          list.appendChild(li);
        });
      });
    },

    showIncident: function (id, coords) {
      map.flyTo([coords[1], coords[0]], Math.max(map.getZoom(), 17), {duration: 0.5});
      fetch(cfg.urls.incident + id, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (c) {
        var rows = c.history.map(function (h) {
          return "<tr><td>" + esc(api.when(h.at)) + "</td><td>" + esc(s("action." + h.action)) + "</td><td>" +
            esc(h.actor || "") + "</td><td>" + esc(h.note || "") + "</td></tr>";
        }).join("");
        var props = {id: c.id, category: c.category, status: c.status, reported_at: c.reported_at, source: c.source,
          grid: c.grid, assign_flag: c.assign_flag, description: c.description, simulated: c.simulated,
          due_at: c.due_at, overdue: c.due_at && new Date(c.due_at) < new Date() && ["closed", "voided"].indexOf(c.status) < 0};
        L.popup({maxWidth: 360}).setLatLng([c.lat, c.lon]).setContent(
          '<div class="incident-detail" data-id="' + esc(c.id) + '"><b>' + esc(s("incident.id")) + " " + esc(c.id) + "</b>" +
          api.incidentPopup(props) + "<h4>" + esc(s("incident.history")) + '</h4><table class="history">' + rows + "</table></div>"
        ).openOn(map);
      });
    },

    poll: function () {
      fetch(cfg.urls.changes + (lastEvent === null ? "" : "?after=" + encodeURIComponent(lastEvent)), {credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (ch) {
          var first = lastEvent === null;
          lastEvent = ch.last;  // opaque: the server's snapshot at this read
          if (!first && (ch.changed.length || ch.reset)) { api.loadIncidents(); api.loadLatest(ch.changed); api.refreshTiles(); }
        })
        .catch(function () { /* the next poll tries again */ })
        .then(function () { setTimeout(api.poll, POLL_MS); });
    },

    loadBasemap: function () {
      if (!basemapLayer) return;
      var b = map.getBounds().pad(0.5), key = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(3); }).join(",");
      if (key === basemapKey) return;
      basemapKey = key;
      fetch(cfg.urls.basemap + "?bbox=" + key, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (layers) {
        basemapLayer.clearLayers();
        L.geoJSON(layers.buildings, {interactive: false, renderer: baseCanvas, style: {color: "#b9b2a6", weight: 1, fillColor: "#d9d0c1", fillOpacity: 1}}).addTo(basemapLayer);
        L.geoJSON(layers.streets, {interactive: false, renderer: baseCanvas, style: function (f) {
          var major = /^(primary|secondary|tertiary|trunk|motorway)/.test(f.properties["class"] || "");
          var foot = /^(footway|path|steps|cycleway|pedestrian|trail)/.test(f.properties["class"] || "");
          return {color: major ? "#f7c873" : "#ffffff", weight: major ? 6 : (foot ? 1 : 4), opacity: foot ? 0.7 : 1};
        }}).addTo(basemapLayer);
      });
    },

    openGridPanel: function (code) {
      var panel = document.getElementById("grid-panel"), body = document.getElementById("grid-panel-body");
      panel.hidden = false;
      body.textContent = s("status.loading");
      // The period filters on the server; the category boxes (top-level codes) filter the
      // per-category rows here, so the totals are always the sum of what is ticked.
      var q = new URLSearchParams(api.period()), ticked = api.categories();
      fetch(cfg.urls.gridStats.replace("__CODE__", encodeURIComponent(code)) + "?" + q.toString(), {credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (st) {
          if (st.error) { body.textContent = s("status.error", {message: st.message}); return; }
          if (ticked) {
            st.by_category = st.by_category.filter(function (c) { return ticked.indexOf(c.code) >= 0; });
            ["total", "open", "closed"].forEach(function (k) {
              st[k] = st.by_category.reduce(function (a, c) { return a + c[k]; }, 0);
            });
            st.per_1000_households = st.grid.households > 0 ? Math.round(st.total * 100000 / st.grid.households) / 100 : null;
          }
          var gp = st.grid, max = Math.max.apply(null, [1].concat(st.by_category.map(function (c) { return c.total; })));
          var bars = st.by_category.length ? st.by_category.map(function (c) {
            return '<div class="bar-row"><span class="bar-label">' + esc(c.label) + '</span><span class="bar" style="width:' +
              (100 * c.total / max).toFixed(1) + "%;background:" + esc(c.color) + '"></span><span class="bar-value">' +
              esc(fmt(c.total)) + "</span></div>";
          }).join("") : "<p>" + esc(s("panel.none")) + "</p>";
          var period = (st.since ? st.since.slice(0, 10) : "…") + " – " + (st.until ? st.until.slice(0, 10) : "…");
          body.innerHTML = "<h2>" + esc(gp.name) + "</h2><p class=\"code\">" + esc(gp.code) + " · " + esc(gp.community_name) + "</p>" +
            '<table class="figures">' +
            "<tr><th>" + esc(s("panel.period")) + "</th><td>" + esc(period) + "</td></tr>" +
            "<tr><th>" + esc(s("grid.households")) + "</th><td>" + esc(fmt(gp.households)) + (gp.estimated ? " " + esc(s("grid.estimated")) : "") + "</td></tr>" +
            "<tr><th>" + esc(s("grid.population")) + "</th><td>" + esc(fmt(gp.population)) + "</td></tr>" +
            '<tr><th>' + esc(s("panel.total")) + '</th><td id="panel-total">' + esc(fmt(st.total)) + "</td></tr>" +
            "<tr><th>" + esc(s("panel.per_1000")) + "</th><td>" + esc(st.per_1000_households == null ? "–" : st.per_1000_households) + "</td></tr>" +
            "<tr><th>" + esc(s("panel.open")) + "</th><td>" + esc(fmt(st.open)) + "</td></tr>" +
            "<tr><th>" + esc(s("panel.closed")) + "</th><td>" + esc(fmt(st.closed)) + "</td></tr>" +
            teamRows(gp.team) + "</table><h3>" + esc(s("panel.by_category")) + '</h3><div class="bars">' + bars + "</div>";
          panel.setAttribute("data-grid", gp.code);
        })
        .catch(function (e) { body.textContent = s("status.error", {message: e.message}); });
    },

    start: function (config) {
      cfg = config;
      map = window[cfg.layers.map];
      incidentLayer = window[cfg.layers.incidents];
      basemapLayer = cfg.layers.basemap ? window[cfg.layers.basemap] : null;
      // Overlays share the map's one canvas (preferCanvas), so a click reaches the topmost
      // shape, incident over grid; the base map has a canvas of its own in a lower pane.
      map.createPane("basemap").style.zIndex = 250;  // above tiles (200), below grids (400)
      baseCanvas = L.canvas({pane: "basemap", padding: 0.5});
      map.getContainer().classList.add("mapapp-map");
      window[cfg.layers.grids].eachLayer(function (l) {  // labels from the text, never as markup
        var p = l.feature.properties, span = document.createElement("span");
        span.className = "grid-label";
        span.textContent = p.label;
        L.marker(p.label_at, {interactive: false, keyboard: false, icon: L.divIcon(
          {html: span, className: "grid-label-icon", iconSize: [60, 16], iconAnchor: [30, 8]})})
          .addTo(window[cfg.layers.labels]);
      });
      if (map.attributionControl) map.attributionControl.addAttribution(esc(s("attribution.osm")));
      cfg.categories.forEach(function (t) {
        colors[t.code] = t.color; labels[t.code] = t.label;
        t.children.forEach(function (c) { colors[c.code] = c.color; labels[c.code] = c.label; });
      });
      var period = document.getElementById("period");
      period.addEventListener("change", function () {
        document.getElementById("custom-period").hidden = period.value !== "custom";
        api.refresh();
      });
      ["since", "until"].forEach(function (id) { document.getElementById(id).addEventListener("change", api.refresh); });
      var all = document.getElementById("cat-all");
      all.addEventListener("change", function () {
        document.querySelectorAll(".cat-box").forEach(function (b) { b.checked = all.checked; });
        api.refresh();
      });
      document.querySelectorAll(".cat-box").forEach(function (b) { b.addEventListener("change", function () {
        all.checked = Array.prototype.every.call(document.querySelectorAll(".cat-box"), function (x) { return x.checked; });
        api.refresh();
      }); });
      document.getElementById("overdue-only").addEventListener("change", api.refresh);
      document.getElementById("status-filter").addEventListener("change", api.refresh);
      document.getElementById("where-filter").addEventListener("change", api.refresh);
      document.getElementById("grid-panel-close").addEventListener("click", function () { document.getElementById("grid-panel").hidden = true; });
      map.on("moveend", function () { api.loadIncidents(); api.loadBasemap(); });
      function labelsByZoom() {  // zoomed out: no grid codes, small key places, so clusters show
        var out = map.getZoom() < cfg.pointZoom;
        map.getContainer().classList.toggle("zoomed-out", out);
        window[cfg.layers.places].eachLayer(function (l) { if (l.setRadius) l.setRadius(out ? 2 : 5); });
      }
      map.on("zoomend", labelsByZoom);
      labelsByZoom();
      api.loadBasemap();
      api.loadIncidents();
      api.loadLatest();
      api.refreshTiles();
      api.poll();
      document.body.setAttribute("data-ready", "1");
    },
    refresh: function () {
      api.loadIncidents();
      api.loadLatest();
      api.refreshTiles();
      var panel = document.getElementById("grid-panel");
      if (!panel.hidden && panel.getAttribute("data-grid")) api.openGridPanel(panel.getAttribute("data-grid"));
    }
  };
  window.mapapp = api;
})();
