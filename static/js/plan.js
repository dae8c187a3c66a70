// The planner map: grids coloured by band status, the coverage check's problems, a metrics
// table, painting base units into the chosen grid (click a building), undo/redo. Every save
// sends the version it was made on; a 409 reloads. User text is set with textContent only.
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
  }

  function drawUnits(fc) {
    unitLayer.clearLayers();
    unitLayer.addLayer(L.geoJSON(fc, {
      style: (f) => ({color: "#555", weight: 1, fillColor: "#999", fillOpacity: 0.5,
                      className: "plan-unit unit-" + f.id}),
      pointToLayer: (f, ll) => L.circleMarker(ll, {radius: 4, className: "plan-unit unit-" + f.id}),
      onEachFeature: (f, layer) => {
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
  function rebalance(neighbour) {
    rebalancing = false;
    $("plan-hint").textContent = "";
    const target = $("plan-target").value;
    if (!target || neighbour === target) return;
    post(cfg.urls.edits, {action: "rebalance", codes: [target, neighbour]}).then(afterEdit);
  }
  $("plan-rebalance").addEventListener("click", () => {
    rebalancing = !rebalancing;
    $("plan-hint").textContent = rebalancing ? S["plan.rebalance_hint"] : "";
  });
  $("plan-undo").addEventListener("click", () => post(cfg.urls.undo, {}).then(afterEdit));
  $("plan-redo").addEventListener("click", () => post(cfg.urls.redo, {}).then(afterEdit));
  $("plan-target").addEventListener("change", renderTable);
  loadAll();
}());
