// The planner map: grids coloured by band status, the coverage check's problems, a metrics
// table, painting base units into the chosen grid (click a building, or Shift-drag a box),
// moving the chosen grid's vertices with Geoman (snapping to neighbours; the server moves the
// vertex in every grid sharing it), rebalancing with a neighbour, undo/redo. Every save sends
// the version it was made on; a 409 reloads. User text is set with textContent only.
(function () {
  "use strict";
  const cfg = JSON.parse(document.getElementById("plan-config").textContent);
  const S = cfg.strings;
  const $ = (id) => document.getElementById(id);
  const b = cfg.bounds;
  const map = L.map("plan-map").fitBounds([[b[1], b[0]], [b[3], b[2]]]);
  if (cfg.tiles) {
    L.tileLayer(cfg.tiles, {attribution: cfg.tilesAttribution, maxZoom: 19}).addTo(map);
  }
  const COLORS = {ok: "#2e7d32", under: "#1565c0", over: "#ef6c00"};
  const gridLayer = L.layerGroup().addTo(map);
  const unitLayer = L.layerGroup().addTo(map);
  const problemLayer = L.layerGroup().addTo(map);
  let version = cfg.version;
  let metrics = {};
  let rebalancing = false;  // the next grid clicked is re-split with the chosen one
  let editingVertices = false;
  let unitFeatures = [];
  map.boxZoom.disable();  // Shift-drag selects buildings instead
  map.pm.setGlobalOptions({snappable: true, snapDistance: 15, allowSelfIntersection: false,
                           hideMiddleMarkers: true, preventMarkerRemoval: true, draggable: false});
  document.getElementById("plan-map").planMap = map;  // for the browser tests and the console
  $("plan-name").textContent = cfg.name;

  const getJSON = (url) => fetch(url, {credentials: "same-origin"}).then((r) => r.json());
  function post(url, body) {
    return fetch(url, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": cfg.csrf},
      body: JSON.stringify(Object.assign({version: version}, body))})
      .then((r) => r.json().then((j) => ({status: r.status, body: j})));
  }
  function showError(body) {
    $("plan-error").textContent = body ? body.message + (body.field ? " [" + body.field + "]" : "") : "";
  }
  function flagOf(m) {
    return m && m.flags ? (m.flags.households || "ok") : "ok";
  }
  function tooltip(layer, text) {
    const el = document.createElement("span");
    el.textContent = text;
    layer.bindTooltip(el, {sticky: true});
  }

  function renderTable() {
    const body = document.querySelector("#plan-metrics tbody");
    body.replaceChildren();
    const target = $("plan-target").value;
    for (const code of Object.keys(metrics).sort()) {
      const m = metrics[code];
      const tr = document.createElement("tr");
      tr.dataset.code = code;
      tr.className = flagOf(m) + (code === target ? " selected" : "");
      const band = S["plan.flag." + flagOf(m)] + (m.waiver ? " · " + S["plan.waived"] : "");
      for (const v of [code, m.households, m.incidents_12m, m.polsby_popper.toFixed(2), band]) {
        const td = document.createElement("td");
        td.textContent = v;
        tr.appendChild(td);
      }
      tr.addEventListener("click", () => { $("plan-target").value = code; renderTable(); });
      body.appendChild(tr);
    }
    const over = Object.values(metrics).filter((m) => !m.in_band).length;
    $("plan-version").textContent = version;
    $("plan-summary").textContent = S["plan.violations"] + " " + over;
  }

  function drawGrids(fc) {
    gridLayer.clearLayers();
    const select = $("plan-target");
    const chosen = select.value;
    select.replaceChildren();
    for (const f of fc.features) {
      const opt = document.createElement("option");
      opt.value = f.id;
      opt.textContent = f.id + " · " + f.properties.name;
      select.appendChild(opt);
      const layer = L.geoJSON(f, {style: {color: COLORS[flagOf(metrics[f.id])], weight: 2, fillOpacity: 0.15,
                                           className: "plan-grid grid-" + f.id}});
      tooltip(layer, f.id + " · " + f.properties.households + " " + S["plan.households"]);
      layer.on("click", () => {
        if (rebalancing) { rebalance(f.id); return; }
        select.value = f.id;
        renderTable();
      });
      gridLayer.addLayer(layer);
    }
    if (chosen) select.value = chosen;
    enableVertices();
  }

  // Geoman on the chosen grid only: a dragged vertex is sent as move_vertex {from, to}
  function enableVertices() {
    const target = $("plan-target").value;
    gridLayer.eachLayer((group) => group.eachLayer((poly) => {
      const mine = editingVertices && poly.feature && poly.feature.id === target;
      if (!mine) { if (poly.pm.enabled()) poly.pm.disable(); return; }
      poly.pm.enable();
      let start = null;
      poly.off("pm:markerdragstart pm:markerdragend");
      poly.on("pm:markerdragstart", (e) => { start = e.markerEvent.target.getLatLng(); });
      poly.on("pm:markerdragend", (e) => {
        const end = e.markerEvent.target.getLatLng();
        if (!start || start.equals(end)) return;
        post(cfg.urls.edits, {action: "move_vertex", from: [start.lng, start.lat], to: [end.lng, end.lat]})
          .then((res) => { if (res.status !== 200) loadAll(); return afterEdit(res); });
      });
    }));
  }

  function drawUnits(fc) {
    unitFeatures = [];
    unitLayer.clearLayers();
    unitLayer.addLayer(L.geoJSON(fc, {
      style: (f) => ({color: "#555", weight: 1, fillColor: "#999", fillOpacity: 0.5,
                      className: "plan-unit unit-" + f.id}),
      pointToLayer: (f, ll) => L.circleMarker(ll, {radius: 4, className: "plan-unit unit-" + f.id}),
      onEachFeature: (f, layer) => {
        unitFeatures.push({id: f.id, layer: layer});
        tooltip(layer, f.properties.households + " " + S["plan.households"] +
                (f.properties.estimated ? " (" + S["plan.estimate"] + ")" : ""));
        layer.on("click", (e) => { L.DomEvent.stopPropagation(e); paint(f.id); });
      }}));
  }

  function drawProblems(fc) {
    problemLayer.clearLayers();
    problemLayer.addLayer(L.geoJSON(fc, {
      style: {color: "#d50000", weight: 2, dashArray: "4 3", fillOpacity: 0.4},
      pointToLayer: (f, ll) => L.circleMarker(ll, {radius: 6, color: "#d50000"}),
      onEachFeature: (f, layer) => tooltip(layer, (S["plan.problem." + f.properties.kind] || f.properties.kind) +
        " · " + f.properties.area_m2 + " m²")}));
    const n = fc.features.length;
    $("plan-summary").textContent += " · " + S["plan.problems"] + " " + n;
  }

  function loadAll() {
    return Promise.all([getJSON(cfg.urls.metrics), getJSON(cfg.urls.grids), getJSON(cfg.urls.units),
                        getJSON(cfg.urls.check)]).then(([m, grids, units, check]) => {
      metrics = {};
      for (const g of m.grids) metrics[g.code] = g;
      drawGrids(grids);
      drawUnits(units);
      renderTable();
      drawProblems(check);
    });
  }

  function afterEdit(res) {
    if (res.status === 409 && res.body.current_version !== undefined) {
      version = res.body.current_version;
      showError(res.body);
      return loadAll();
    }
    if (res.status !== 200) { showError(res.body); return null; }
    showError(null);
    version = res.body.version;
    // the answer carries the changed grids' metrics: update the table now, redraw after
    for (const m of res.body.metrics) metrics[m.code] = m;
    for (const code of res.body.changed) if (!res.body.metrics.some((m) => m.code === code)) delete metrics[code];
    renderTable();
    return Promise.all([getJSON(cfg.urls.grids), getJSON(cfg.urls.units), getJSON(cfg.urls.check)])
      .then(([grids, units, check]) => { drawGrids(grids); drawUnits(units); renderTable(); drawProblems(check); });
  }

  function paint(unitId) {
    const target = $("plan-target").value;
    if (!target) return;
    post(cfg.urls.edits, {action: "paint", code: target, unit_ids: [unitId]}).then(afterEdit);
  }
  // Shift-drag: a box; every building whose middle lies in it is painted into the chosen grid
  let box = null;
  map.on("mousedown", (e) => {
    if (!e.originalEvent.shiftKey) return;
    map.dragging.disable();
    box = {start: e.latlng, rect: L.rectangle([e.latlng, e.latlng], {color: "#6a1b9a", weight: 1}).addTo(map)};
  });
  map.on("mousemove", (e) => { if (box) box.rect.setBounds([box.start, e.latlng]); });
  map.on("mouseup", (e) => {
    if (!box) return;
    const bounds = L.latLngBounds(box.start, e.latlng);
    map.removeLayer(box.rect);
    box = null;
    map.dragging.enable();
    const target = $("plan-target").value;
    const ids = unitFeatures.filter((u) => bounds.contains(
      u.layer.getBounds ? u.layer.getBounds().getCenter() : u.layer.getLatLng())).map((u) => u.id);
    if (target && ids.length) post(cfg.urls.edits, {action: "paint", code: target, unit_ids: ids}).then(afterEdit);
  });

  function rebalance(neighbour) {
    rebalancing = false;
    $("plan-hint").textContent = "";
    const target = $("plan-target").value;
    if (!target || neighbour === target) return;
    post(cfg.urls.edits, {action: "rebalance", codes: [target, neighbour]}).then(afterEdit);
  }
  $("plan-vertices").addEventListener("click", () => {
    editingVertices = !editingVertices;
    $("plan-vertices").classList.toggle("active", editingVertices);
    enableVertices();
  });
  $("plan-rebalance").addEventListener("click", () => {
    rebalancing = !rebalancing;
    $("plan-hint").textContent = rebalancing ? S["plan.rebalance_hint"] : "";
  });
  $("plan-undo").addEventListener("click", () => post(cfg.urls.undo, {}).then(afterEdit));
  $("plan-redo").addEventListener("click", () => post(cfg.urls.redo, {}).then(afterEdit));
  $("plan-target").addEventListener("change", () => { renderTable(); enableVertices(); });
  loadAll();
}());
