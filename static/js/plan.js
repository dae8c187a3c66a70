// The planner map: grids coloured by band status, the coverage check's problems, a metrics
// table, painting base units into the chosen grid (click a building, or Shift-drag a box),
// moving the chosen grid's vertices with Geoman (snapping to neighbouring grids and to the
// streets; the server moves the vertex in every grid sharing it), rebalancing with a neighbour,
// undo/redo. A dragged vertex is checked here first (Turf: no grid crosses itself or leaves its
// community) and refused with a message instead of being sent; the server's check stays the
// authority. An edit's answer carries the changed grids, their metrics and the coverage check
// of the area it touched: only those are redrawn. Every save sends the version it was made on;
// a 409 reloads. User text is set with textContent only.
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
  const TOL = 6e-7;  // degrees: how near a grid vertex must be to the dragged one (as the server)
  const OUTSIDE_M2 = 1;  // a move may add this much area outside a grid's community (rounding)
  const streetLayer = L.layerGroup().addTo(map);
  const gridLayer = L.layerGroup().addTo(map);
  const unitLayer = L.layerGroup().addTo(map);
  const problemLayer = L.layerGroup().addTo(map);
  let version = cfg.version;
  let metrics = {};
  const grids = {};  // code -> {feature, layer (L.GeoJSON of one polygon), bbox}
  const communities = {};  // community code -> GeoJSON feature
  let problems = [];  // the coverage check's features, kept up to date from each edit's local check
  let rebalancing = false;  // the next grid clicked is re-split with the chosen one
  let editingVertices = false;
  let editing = null;  // the polygon Geoman edits
  let unitFeatures = [];
  map.boxZoom.disable();  // Shift-drag selects buildings instead
  // Options for the chosen grid's vertex editing. enableVertices passes them to pm.enable():
  // setGlobalOptions only reaches layers that exist when it is called, and grids come later.
  // Snap targets are the other grids and the streets; buildings and problems set snapIgnore.
  map.pm.setGlobalOptions({snappable: true, snapDistance: 15, snapSegment: true, snapVertex: true,
                           allowSelfIntersection: false, hideMiddleMarkers: true,
                           preventMarkerRemoval: true, draggable: false, allowRemoval: false,
                           allowCutting: false, allowRotation: false});
  document.getElementById("plan-map").planMap = map;  // for the browser tests and the console
  $("plan-name").textContent = cfg.name;

  const getJSON = (url) => fetch(url, {credentials: "same-origin"}).then((r) => r.json());
  function post(url, body) {
    return fetch(url, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": cfg.csrf},
      body: JSON.stringify(Object.assign({version: version}, body))})
      .then((r) => r.json().then((j) => ({status: r.status, body: j})));
  }
  // one edit: the answer updates the table and the map; the time from the edit to both is
  // recorded as a "plan-edit" performance measure (scripts/bench_plans reads it)
  function send(url, body) {
    const t0 = performance.now();
    return post(url, body).then((res) => afterEdit(res, t0));
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
    $("plan-summary").textContent = S["plan.violations"] + " " + over + " · " + S["plan.problems"] + " " +
      problems.length;
  }

  function fillSelect() {
    const select = $("plan-target");
    const chosen = select.value;
    select.replaceChildren();
    for (const code of Object.keys(grids).sort()) {
      const opt = document.createElement("option");
      opt.value = code;
      opt.textContent = code + " · " + grids[code].feature.properties.name;
      select.appendChild(opt);
    }
    if (chosen && grids[chosen]) select.value = chosen;
  }

  function addGrid(f) {
    const m = metrics[f.id];
    const layer = L.geoJSON(f, {style: {color: COLORS[flagOf(m)], weight: 2, fillOpacity: 0.15,
                                        className: "plan-grid grid-" + f.id}});
    tooltip(layer, f.id + " · " + (m ? m.households : f.properties.households) + " " + S["plan.households"]);
    layer.on("click", () => {
      if (rebalancing) { rebalance(f.id); return; }
      $("plan-target").value = f.id;
      renderTable();
      enableVertices();
    });
    gridLayer.addLayer(layer);
    grids[f.id] = {feature: f, layer: layer, bbox: turf.bbox(f)};
  }
  function removeGrid(code) {
    const g = grids[code];
    if (!g) return;
    if (editing && g.layer.hasLayer(editing)) { editing.pm.disable(); editing = null; }
    gridLayer.removeLayer(g.layer);
    delete grids[code];
  }

  function drawGrids(fc) {
    for (const code of Object.keys(grids)) removeGrid(code);
    for (const f of fc.features) addGrid(f);
    fillSelect();
    enableVertices();
  }

  // Geoman on the chosen grid only: a dragged vertex is checked here, then sent as move_vertex
  function enableVertices() {
    const target = $("plan-target").value;
    const g = editingVertices && grids[target];
    const poly = g ? g.layer.getLayers()[0] : null;
    if (editing && editing !== poly && editing.pm.enabled()) editing.pm.disable();
    editing = poly;
    if (!poly || poly.pm.enabled()) return;
    poly.pm.enable(Object.assign({}, map.pm.getGlobalOptions()));
    let start = null;
    poly.on("pm:markerdragstart", (e) => { start = e.markerEvent.target.getLatLng(); });
    poly.on("pm:markerdragend", (e) => {
      const end = e.markerEvent.target.getLatLng();
      if (!start || start.equals(end)) return;
      const from = [start.lng, start.lat], to = [end.lng, end.lat];
      const problem = e.intersectionReset ? {key: "self_intersection", code: target} : checkMove(from, to);
      if (problem) { refuse(problem, target); return; }
      send(cfg.urls.edits, {action: "move_vertex", from: from, to: to});
    });
  }

  // The geometry with every vertex within TOL of `from` moved to `to` (null: it has none there)
  function moved(geometry, from, to) {
    let hit = false;
    const walk = (c) => {
      if (typeof c[0] === "number") {
        if (Math.abs(c[0] - from[0]) <= TOL && Math.abs(c[1] - from[1]) <= TOL) { hit = true; return to.slice(); }
        return c;
      }
      return c.map(walk);
    };
    const coordinates = walk(geometry.coordinates);
    return hit ? {type: geometry.type, coordinates: coordinates} : null;
  }
  function outsideArea(geometry, community) {
    const rest = turf.difference(turf.featureCollection([turf.feature(geometry), community]));
    return rest ? turf.area(rest) : 0;
  }
  // What the server would refuse or flag after moving the vertex, checked on the grids that
  // share it only: a new self-intersection (turf.kinks), or area leaving the grid's community
  // (turf.difference; more than OUTSIDE_M2 beyond what was outside before). null: send it.
  function checkMove(from, to) {
    for (const code of Object.keys(grids)) {
      const g = grids[code];
      const bb = g.bbox;
      if (from[0] < bb[0] - TOL || from[0] > bb[2] + TOL || from[1] < bb[1] - TOL || from[1] > bb[3] + TOL) continue;
      const after = moved(g.feature.geometry, from, to);
      if (!after) continue;
      if (turf.kinks(after).features.length > turf.kinks(g.feature.geometry).features.length) {
        return {key: "self_intersection", code: code};
      }
      const comm = communities[g.feature.properties.community];
      if (!comm) continue;
      const out = outsideArea(after, comm) - outsideArea(g.feature.geometry, comm);
      if (out > OUTSIDE_M2) return {key: "outside_community", code: code, area: Math.round(out)};
    }
    return null;
  }
  function refuse(problem, target) {
    $("plan-error").textContent = S["plan.refused." + problem.key].replace("{code}", problem.code)
      .replace("{area}", String(problem.area));
    restoreGrid(target);
  }
  // Redraw a grid from its last saved feature (undoes a drag the server never saw)
  function restoreGrid(code) {
    const f = grids[code] && grids[code].feature;
    if (f) { removeGrid(code); addGrid(f); enableVertices(); }
  }

  function drawUnits(fc) {
    unitFeatures = [];
    unitLayer.clearLayers();
    unitLayer.addLayer(L.geoJSON(fc, {
      snapIgnore: true,
      style: (f) => ({color: "#555", weight: 1, fillColor: "#999", fillOpacity: 0.5,
                      className: "plan-unit unit-" + f.id}),
      pointToLayer: (f, ll) => L.circleMarker(ll, {radius: 4, snapIgnore: true, className: "plan-unit unit-" + f.id}),
      onEachFeature: (f, layer) => {
        unitFeatures.push({id: f.id, layer: layer});
        tooltip(layer, f.properties.households + " " + S["plan.households"] +
                (f.properties.estimated ? " (" + S["plan.estimate"] + ")" : ""));
        layer.on("click", (e) => { L.DomEvent.stopPropagation(e); paint(f.id); });
      }}));
  }

  function drawProblems() {
    problemLayer.clearLayers();
    problemLayer.addLayer(L.geoJSON({type: "FeatureCollection", features: problems}, {
      snapIgnore: true,
      style: {color: "#d50000", weight: 2, dashArray: "4 3", fillOpacity: 0.4, className: "plan-problem"},
      pointToLayer: (f, ll) => L.circleMarker(ll, {radius: 6, color: "#d50000", snapIgnore: true,
                                                   className: "plan-problem"}),
      onEachFeature: (f, layer) => tooltip(layer, (S["plan.problem." + f.properties.kind] || f.properties.kind) +
        " · " + f.properties.area_m2 + " m²")}));
  }
  // Problems where an edit happened are replaced by the edit's local check; others stay
  function updateProblems(changed, region, check) {
    const inRegion = (p) => {
      const pt = turf.pointOnFeature(p);
      return region.some((f) => turf.booleanPointInPolygon(pt, f));
    };
    problems = problems.filter((p) => !(changed.has(p.properties.grid) || changed.has(p.properties.other) ||
                                        inRegion(p)));
    if (check) problems = problems.concat(check.features);
    drawProblems();
  }

  function loadAll() {
    return Promise.all([getJSON(cfg.urls.metrics), getJSON(cfg.urls.grids), getJSON(cfg.urls.units),
                        getJSON(cfg.urls.check)]).then(([m, fc, units, check]) => {
      metrics = {};
      for (const g of m.grids) metrics[g.code] = g;
      drawGrids(fc);
      drawUnits(units);
      problems = check.features;
      drawProblems();
      renderTable();
    });
  }
  function loadContext() {
    getJSON(cfg.urls.streets).then((fc) => {
      streetLayer.addLayer(L.geoJSON(fc, {interactive: false,
                                          style: {color: "#616161", weight: 2, opacity: 0.7, className: "plan-street"}}));
    });
    getJSON(cfg.urls.communities).then((fc) => {
      for (const f of fc.features) communities[f.properties.code] = f;
    });
  }

  function afterEdit(res, t0) {
    if (res.status === 409 && res.body.current_version !== undefined) {
      version = res.body.current_version;
      showError(res.body);
      return loadAll();
    }
    if (res.status !== 200) {
      restoreGrid($("plan-target").value);  // a refused vertex move: put the polygon back
      showError(res.body);
      return null;
    }
    showError(null);
    const body = res.body;
    version = body.version;
    // the answer carries the changed grids, their metrics and the local check: table first
    for (const m of body.metrics) metrics[m.code] = m;
    const changed = new Set(body.changed);
    for (const code of changed) if (!body.metrics.some((m) => m.code === code)) delete metrics[code];
    renderTable();
    const region = [];
    for (const code of changed) if (grids[code]) region.push(grids[code].feature);
    for (const code of changed) removeGrid(code);
    for (const f of body.grids) { addGrid(f); region.push(f); }
    fillSelect();
    enableVertices();
    updateProblems(changed, region, body.check);
    renderTable();
    if (t0 !== undefined) performance.measure("plan-edit", {start: t0, end: performance.now()});
    return null;
  }

  function paint(unitId) {
    const target = $("plan-target").value;
    if (!target) return;
    send(cfg.urls.edits, {action: "paint", code: target, unit_ids: [unitId]});
  }
  // Shift-drag: a box; every building whose middle lies in it is painted into the chosen grid
  let box = null;
  map.on("mousedown", (e) => {
    if (!e.originalEvent.shiftKey) return;
    map.dragging.disable();
    box = {start: e.latlng, rect: L.rectangle([e.latlng, e.latlng], {color: "#6a1b9a", weight: 1, snapIgnore: true})
      .addTo(map)};
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
    if (target && ids.length) send(cfg.urls.edits, {action: "paint", code: target, unit_ids: ids});
  });

  function rebalance(neighbour) {
    rebalancing = false;
    $("plan-hint").textContent = "";
    const target = $("plan-target").value;
    if (!target || neighbour === target) return;
    send(cfg.urls.edits, {action: "rebalance", codes: [target, neighbour]});
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
  $("plan-undo").addEventListener("click", () => send(cfg.urls.undo, {}));
  $("plan-redo").addEventListener("click", () => send(cfg.urls.redo, {}));
  $("plan-target").addEventListener("change", () => { renderTable(); enableVertices(); });
  loadContext();
  loadAll();
}());
