// The planner map: grids coloured by band status, the coverage check's problems, a metrics
// table, painting base units into the chosen grid (click a building, or Shift-drag a box),
// moving the chosen grid's vertices with Geoman (snapping to neighbouring grids and to the
// streets; the server moves the vertex in every grid sharing it), rebalancing with or merging a
// neighbour, splitting along a drawn line, undo/redo. A dragged vertex is checked here first (Turf: no grid crosses itself or leaves its
// community) and refused with a message instead of being sent; the server's check stays the
// authority. An edit's answer carries the changed grids, their metrics and the coverage check
// of the area it touched: only those grids, their table rows and list entries and the problems of
// that area are redrawn (nothing is rebuilt for the whole plan). Every save sends the version it
// was made on; a 409 reloads. User text is set with textContent only.
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
  // The streets near the edited grid, copied into one invisible polyline: Geoman's snap target
  // (see setSnapTargets)
  const snapStreets = L.polyline([], {opacity: 0, interactive: false, className: "plan-street-snap"}).addTo(map);
  let streetParts = [];  // {latlngs, bbox} of every street line, for picking the near ones
  const gridLayer = L.layerGroup().addTo(map);
  const unitLayer = L.layerGroup().addTo(map);
  const problemLayer = L.layerGroup().addTo(map);
  let version = cfg.version;
  let metrics = {};
  const grids = {};  // code -> {feature, layer (L.GeoJSON of one polygon), poly (its polygon), bbox}
  const rows = {};  // code -> its row of the metrics table
  const communities = {};  // community code -> GeoJSON feature
  let problems = [];  // the coverage check's {feature, layer, bbox}, kept up to date from each edit's local check
  let picking = null;  // "rebalance" or "merge": the next grid clicked is re-split with or merged into the chosen one
  let editingVertices = false;
  let editing = null;  // the polygon Geoman edits
  let unitFeatures = [];  // {id, layer, centre}: the box select tests the centres
  map.boxZoom.disable();  // Shift-drag selects buildings instead
  // Options for the chosen grid's vertex editing. enableVertices passes them to pm.enable():
  // setGlobalOptions only reaches layers that exist when it is called, and grids come later.
  // Snap targets are the grids and streets near the edited grid (setSnapTargets); buildings and
  // problems set snapIgnore.
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
  // one edit: the answer updates the table and the map; the time from t0, when the planner
  // finished the edit (the drop, the click, the mouse up of a box), to the frame showing both is
  // recorded as a "plan-edit" performance measure (scripts/bench_plans reads it)
  function send(url, body, t0) {
    const start = t0 === undefined ? performance.now() : t0;
    return post(url, body).then((res) => afterEdit(res, start));
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

  // The metrics table: one row a grid, sorted by code. An edit replaces the rows of the grids it
  // changed only (rebuilding 1,000 rows took ~100 ms of script and layout on every edit).
  function makeRow(code) {
    const m = metrics[code];
    const tr = document.createElement("tr");
    tr.dataset.code = code;
    tr.className = flagOf(m) + (code === $("plan-target").value ? " selected" : "");
    const band = S["plan.flag." + flagOf(m)] + (m.waiver ? " · " + S["plan.waived"] : "");
    for (const v of [code, m.households, m.incidents_12m, m.polsby_popper.toFixed(2), band]) {
      const td = document.createElement("td");
      td.textContent = v;
      tr.appendChild(td);
    }
    return tr;
  }
  function renderTable() {
    const body = document.querySelector("#plan-metrics tbody");
    for (const code of Object.keys(rows)) delete rows[code];
    body.replaceChildren(...Object.keys(metrics).sort().map((code) => (rows[code] = makeRow(code))));
    renderSummary();
  }
  // code follows its neighbours in sorted order: the element (in `byCode`) it goes before, or null
  function nextOf(code, byCode) {
    let next = null;
    for (const c of Object.keys(byCode)) if (c > code && (next === null || c < next)) next = c;
    return next === null ? null : byCode[next];
  }
  // the elements (`byCode`, children of `parent` in code order) of the changed codes made anew by
  // `make` where `keep(code)`, removed where not; the others stay as they are
  function replaceInOrder(parent, byCode, codes, keep, make) {
    for (const code of codes) {
      if (byCode[code]) { byCode[code].remove(); delete byCode[code]; }
    }
    for (const code of codes) {
      if (!keep(code)) continue;
      const el = make(code);
      parent.insertBefore(el, nextOf(code, byCode));
      byCode[code] = el;
    }
  }
  function updateRows(codes) {
    replaceInOrder(document.querySelector("#plan-metrics tbody"), rows, codes, (c) => metrics[c], makeRow);
    renderSummary();
  }
  function renderSummary() {
    let over = 0;
    for (const code in metrics) if (!metrics[code].in_band) over += 1;
    $("plan-version").textContent = version;
    $("plan-summary").textContent = S["plan.violations"] + " " + over + " · " + S["plan.problems"] + " " +
      problems.length;
  }
  let selectedRow = null;
  function markSelected() {
    if (selectedRow) selectedRow.classList.remove("selected");
    selectedRow = rows[$("plan-target").value] || null;
    if (selectedRow) selectedRow.classList.add("selected");
  }
  document.querySelector("#plan-metrics tbody").addEventListener("click", (e) => {
    const tr = e.target.closest("tr");
    if (!tr) return;
    $("plan-target").value = tr.dataset.code;
    markSelected();
    enableVertices();
  });

  function gridOption(code) {
    const opt = document.createElement("option");
    opt.value = code;
    opt.textContent = code + " · " + grids[code].feature.properties.name;
    return opt;
  }
  const options = {};  // code -> its option in the grid list
  function fillSelect() {
    const select = $("plan-target");
    const chosen = select.value;
    for (const code of Object.keys(options)) delete options[code];
    select.replaceChildren(...Object.keys(grids).sort().map((code) => (options[code] = gridOption(code))));
    if (chosen && grids[chosen]) select.value = chosen;
  }
  // the grid list after an edit: options of the changed codes only
  function updateSelect(codes) {
    const select = $("plan-target");
    const chosen = select.value;
    replaceInOrder(select, options, codes, (c) => grids[c], gridOption);
    if (chosen && grids[chosen]) select.value = chosen;
  }

  function addGrid(f) {
    const m = metrics[f.id];
    const layer = L.geoJSON(f, {style: {color: COLORS[flagOf(m)], weight: 2, fillOpacity: 0.15,
                                        className: "plan-grid grid-" + f.id}, snapIgnore: true});
    tooltip(layer, f.id + " · " + (m ? m.households : f.properties.households) + " " + S["plan.households"]);
    layer.on("click", () => {
      if (map.pm.globalDrawModeEnabled()) return;  // a click of the split line
      if (picking) { withNeighbour(f.id); return; }
      $("plan-target").value = f.id;
      markSelected();
      enableVertices();
    });
    gridLayer.addLayer(layer);
    grids[f.id] = {feature: f, layer: layer, poly: layer.getLayers()[0], bbox: turf.bbox(f)};
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

  // Snap targets. Geoman measures, on every mousemove of a drag, the distance from the vertex to
  // every segment of every snappable layer on the map (no spatial index); with all 1,000 grids and
  // the whole street network snappable that was 60-100 ms a mousemove on the 1,000-grid plan. So
  // only what lies near the edited grid is snappable: the grids whose boxes meet its box grown
  // by half its size (options.snapIgnore, read by Geoman when a drag starts), and the street lines
  // there, copied into snapStreets. A vertex dragged farther than that is placed without snapping.
  const meets = (a, c) => a[0] <= c[2] && c[0] <= a[2] && a[1] <= c[3] && c[1] <= a[3];
  function setSnapTargets(code) {
    const g = code && grids[code];
    let area = null;
    if (g) {
      const bb = g.bbox;
      const pad = Math.max(bb[2] - bb[0], bb[3] - bb[1]) / 2;
      area = [bb[0] - pad, bb[1] - pad, bb[2] + pad, bb[3] + pad];
    }
    for (const c in grids) grids[c].poly.options.snapIgnore = !(area && meets(grids[c].bbox, area));
    snapStreets.setLatLngs(area ? streetParts.filter((p) => meets(p.bbox, area)).map((p) => p.latlngs) : []);
  }

  // Geoman on the chosen grid only: a dragged vertex is checked here, then sent as move_vertex
  function enableVertices() {
    const target = $("plan-target").value;
    const g = editingVertices && grids[target];
    const poly = g ? g.poly : null;
    if (editing && editing !== poly && editing.pm.enabled()) editing.pm.disable();
    editing = poly;
    setSnapTargets(poly ? target : null);  // also after an edit: redrawn neighbours start snapIgnore'd
    if (!poly || poly.pm.enabled()) return;
    poly.pm.enable(Object.assign({}, map.pm.getGlobalOptions()));
    let start = null;
    poly.on("pm:markerdragstart", (e) => { start = e.markerEvent.target.getLatLng(); });
    poly.on("pm:markerdragend", (e) => {
      const t0 = performance.now();
      const end = e.markerEvent.target.getLatLng();
      if (!start || start.equals(end)) return;
      const from = [start.lng, start.lat], to = [end.lng, end.lat];
      const problem = e.intersectionReset ? {key: "self_intersection", code: target} : checkMove(from, to);
      if (problem) { refuse(problem, target); return; }
      send(cfg.urls.edits, {action: "move_vertex", from: from, to: to}, t0);
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
  // community: clipped to the box of the grid before and after the move (turf.bboxClip), which
  // leaves the area outside the grid unchanged and spares turf.difference the whole community's
  // outline (~70 ms a drop on the 1,000-grid plan, most of it garbage to collect)
  function outsideArea(geometry, community) {
    const rest = turf.difference(turf.featureCollection([turf.feature(geometry), community]));
    return rest ? turf.area(rest) : 0;
  }
  function clippedCommunity(community, before, after) {
    const a = turf.bbox(before), c = turf.bbox(after);
    const pad = 1e-6;
    return turf.bboxClip(community, [Math.min(a[0], c[0]) - pad, Math.min(a[1], c[1]) - pad,
                                     Math.max(a[2], c[2]) + pad, Math.max(a[3], c[3]) + pad]);
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
      const whole = communities[g.feature.properties.community];
      if (!whole) continue;
      const comm = clippedCommunity(whole, g.feature.geometry, after);
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

  // Buildings are drawn only around the view (the view grown by half each way), and none while
  // more than UNIT_LIMIT would be: each drawn building is an SVG path, and every drag start and
  // drop restyles every interactive path (Leaflet toggles a class on <body>); with the 10,000
  // buildings of the 1,000-grid plan that was ~85 ms a drop. The box select uses every
  // building's centre, drawn or not.
  const UNIT_LIMIT = 3000;
  function drawUnits(fc) {
    unitFeatures = [];
    unitLayer.clearLayers();
    L.geoJSON(fc, {
      snapIgnore: true,
      style: (f) => ({color: "#555", weight: 1, fillColor: "#999", fillOpacity: 0.5,
                      className: "plan-unit unit-" + f.id}),
      pointToLayer: (f, ll) => L.circleMarker(ll, {radius: 4, snapIgnore: true, className: "plan-unit unit-" + f.id}),
      onEachFeature: (f, layer) => {
        unitFeatures.push({id: f.id, layer: layer, shown: false,
                           centre: layer.getBounds ? layer.getBounds().getCenter() : layer.getLatLng()});
        tooltip(layer, f.properties.households + " " + S["plan.households"] +
                (f.properties.estimated ? " (" + S["plan.estimate"] + ")" : ""));
        layer.on("click", (e) => {
          if (map.pm.globalDrawModeEnabled()) return;  // a click of the split line: Geoman takes it
          L.DomEvent.stopPropagation(e);
          paint(f.id, performance.now());
        });
      }});
    showUnits();
  }
  function showUnits() {
    const view = map.getBounds().pad(0.5);
    const near = unitFeatures.filter((u) => view.contains(u.centre));
    const show = new Set(near.length <= UNIT_LIMIT ? near : []);
    for (const u of unitFeatures) {
      const on = show.has(u);
      if (on && !u.shown) unitLayer.addLayer(u.layer);
      else if (!on && u.shown) unitLayer.removeLayer(u.layer);
      u.shown = on;
    }
  }
  map.on("moveend", showUnits);

  // The coverage check's problems, one layer each: an edit removes and adds only its area's
  const problemOptions = {
    snapIgnore: true,
    style: {color: "#d50000", weight: 2, dashArray: "4 3", fillOpacity: 0.4, className: "plan-problem"},
    pointToLayer: (f, ll) => L.circleMarker(ll, {radius: 6, color: "#d50000", snapIgnore: true,
                                                 className: "plan-problem"}),
    onEachFeature: (f, layer) => tooltip(layer, (S["plan.problem." + f.properties.kind] || f.properties.kind) +
      " · " + f.properties.area_m2 + " m²")};
  function addProblem(f) {
    const layer = L.geoJSON(f, problemOptions);
    problemLayer.addLayer(layer);
    return {feature: f, layer: layer, bbox: turf.bbox(f)};
  }
  function drawProblems(features) {
    problemLayer.clearLayers();
    problems = features.map(addProblem);
  }
  // Problems where an edit happened are replaced by the edit's local check; others stay
  function updateProblems(changed, region, check) {
    const boxes = region.map((f) => turf.bbox(f));
    const inRegion = (p) => {
      if (!boxes.some((bb) => meets(bb, p.bbox))) return false;
      const pt = turf.pointOnFeature(p.feature);
      return region.some((f) => turf.booleanPointInPolygon(pt, f));
    };
    const keep = [];
    for (const p of problems) {
      const props = p.feature.properties;
      if (changed.has(props.grid) || changed.has(props.other) || inRegion(p)) problemLayer.removeLayer(p.layer);
      else keep.push(p);
    }
    problems = check ? keep.concat(check.features.map(addProblem)) : keep;
  }

  function loadAll() {
    return Promise.all([getJSON(cfg.urls.metrics), getJSON(cfg.urls.grids), getJSON(cfg.urls.units),
                        getJSON(cfg.urls.check)]).then(([m, fc, units, check]) => {
      metrics = {};
      for (const g of m.grids) metrics[g.code] = g;
      drawGrids(fc);
      drawUnits(units);
      drawProblems(check.features);
      renderTable();
      markSelected();
    });
  }
  function loadContext() {
    getJSON(cfg.urls.streets).then((fc) => {
      streetLayer.addLayer(L.geoJSON(fc, {interactive: false, snapIgnore: true,
                                          style: {color: "#616161", weight: 2, opacity: 0.7, className: "plan-street"}}));
      streetParts = [];
      for (const f of fc.features) {
        const g = f.geometry;
        for (const line of g.type === "MultiLineString" ? g.coordinates : [g.coordinates]) {
          streetParts.push({latlngs: line.map(([x, y]) => L.latLng(y, x)), bbox: turf.bbox(turf.lineString(line))});
        }
      }
      if (editing) setSnapTargets($("plan-target").value);
    });
    getJSON(cfg.urls.communities).then((fc) => {
      for (const f of fc.features) communities[f.properties.code] = f;
    });
  }

  // t0: when the edit was made; the "plan-edit" measure ends after the frame that shows the answer
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
    const codes = new Set([...changed, ...body.metrics.map((m) => m.code)]);
    const region = [];
    for (const code of changed) if (grids[code]) region.push(grids[code].feature);
    for (const code of changed) removeGrid(code);
    for (const f of body.grids) { addGrid(f); region.push(f); codes.add(f.id); }
    updateProblems(changed, region, body.check);
    updateRows(codes);
    updateSelect(codes);
    markSelected();
    enableVertices();
    if (t0 !== undefined) {
      requestAnimationFrame(() => setTimeout(() => performance.measure("plan-edit", {start: t0, end: performance.now()})));
    }
    return null;
  }

  function paint(unitId, t0) {
    const target = $("plan-target").value;
    if (!target) return;
    send(cfg.urls.edits, {action: "paint", code: target, unit_ids: [unitId]}, t0);
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
    const t0 = performance.now();
    const bounds = L.latLngBounds(box.start, e.latlng);
    map.removeLayer(box.rect);
    box = null;
    map.dragging.enable();
    const target = $("plan-target").value;
    const ids = unitFeatures.filter((u) => bounds.contains(u.centre)).map((u) => u.id);
    if (target && ids.length) send(cfg.urls.edits, {action: "paint", code: target, unit_ids: ids}, t0);
  });

  function withNeighbour(neighbour) {
    const action = picking;
    const t0 = performance.now();
    picking = null;
    $("plan-hint").textContent = "";
    const target = $("plan-target").value;
    if (!target || neighbour === target) return;
    send(cfg.urls.edits, {action: action, codes: [target, neighbour]}, t0);
  }
  function pick(action) {
    picking = picking === action ? null : action;
    $("plan-hint").textContent = picking ? S["plan." + action + "_hint"] : "";
  }
  // Split: Geoman draws a line (no snapping: it only has to cross the grid); the part it cuts off
  // becomes a new grid coded next in the chosen grid's community
  function nextCode(code) {
    const community = grids[code].feature.properties.community || code.slice(0, -3);
    let last = 0;
    for (const c in grids) {
      if (c.length === community.length + 3 && c.startsWith(community)) last = Math.max(last, Number(c.slice(-3)) || 0);
    }
    return community + String(last + 1).padStart(3, "0");
  }
  map.on("pm:create", (e) => {
    if (e.shape !== "Line") return;
    const t0 = performance.now();
    const line = e.layer.toGeoJSON().geometry;
    map.removeLayer(e.layer);
    $("plan-hint").textContent = "";
    const target = $("plan-target").value;
    if (target && grids[target]) {
      send(cfg.urls.edits, {action: "split", code: target, new_code: nextCode(target), line: line}, t0);
    }
  });
  $("plan-vertices").addEventListener("click", () => {
    editingVertices = !editingVertices;
    $("plan-vertices").classList.toggle("active", editingVertices);
    enableVertices();
  });
  $("plan-rebalance").addEventListener("click", () => pick("rebalance"));
  $("plan-merge").addEventListener("click", () => pick("merge"));
  $("plan-split").addEventListener("click", () => {
    $("plan-hint").textContent = S["plan.split_hint"];
    map.pm.enableDraw("Line", {snappable: false, finishOn: null});
  });
  $("plan-undo").addEventListener("click", () => send(cfg.urls.undo, {}));
  $("plan-redo").addEventListener("click", () => send(cfg.urls.redo, {}));
  $("plan-target").addEventListener("change", () => { markSelected(); enableVertices(); });
  loadContext();
  loadAll();
}());
