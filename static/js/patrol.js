// The patrol page: candidates sized by value, routes per team colour with direction arrows,
// ordered stop list, draggable start/end, reachability, printable card. User text is set with
// textContent only.
(function () {
  "use strict";
  const cfg = JSON.parse(document.getElementById("patrol-config").textContent);
  const S = cfg.strings;
  const $ = (id) => document.getElementById(id);
  const b = cfg.bounds;
  const map = L.map("patrol-map").fitBounds([[b[1], b[0]], [b[3], b[2]]]);
  if (cfg.tiles) {
    L.tileLayer(cfg.tiles, {attribution: cfg.tilesAttribution, maxZoom: 19}).addTo(map);
  } else {
    fetch(cfg.urls.basemap + "?bbox=" + b.join(","), {credentials: "same-origin"})
      .then((r) => r.json())
      .then((layers) => L.geoJSON(layers.streets, {style: {color: "#999", weight: 1}, interactive: false})
        .addTo(map));
  }
  const reachLayer = L.layerGroup().addTo(map);
  const candLayer = L.layerGroup().addTo(map);
  const routeLayer = L.layerGroup().addTo(map);
  let start = null, end = null;

  function itemText(items) {
    return items.map((i) => i.name || (S["patrol.kind." + i.kind] || i.kind) + " " + (i.category || "")).join("; ");
  }
  function tooltip(layer, text) {
    const el = document.createElement("span");
    el.textContent = text;
    layer.bindTooltip(el);
  }
  function showError(body) {
    $("patrol-error").textContent = body ? (body.message + (body.field ? " [" + body.field + "]" : "")) : "";
  }
  function placeDepots(fc) {
    for (const f of fc.features) {
      const [lon, lat] = f.geometry ? f.geometry.coordinates : [];
      if (f.properties.kind === "start" && !start) {
        start = L.marker([lat, lon], {draggable: true, title: S["patrol.start"]}).addTo(map);
      } else if (f.properties.kind === "end" && !end) {
        end = L.marker([lat, lon], {draggable: true, title: S["patrol.end"], opacity: 0.7}).addTo(map);
      }
    }
  }
  function request() {
    const grids = $("patrol-grids").value.split(/[\s,]+/).filter(Boolean);
    const body = {
      area: grids.length ? {grids: grids} : {community: $("patrol-area").value},
      teams: Number($("patrol-teams").value), mode: $("patrol-mode").value,
      shift_minutes: Number($("patrol-shift").value), dwell_minutes: Number($("patrol-dwell").value),
    };
    if ($("patrol-revisit").value) body.revisit_minutes = Number($("patrol-revisit").value);
    if (start) body.start = [start.getLatLng().lng, start.getLatLng().lat];
    if (end) body.end = [end.getLatLng().lng, end.getLatLng().lat];
    return body;
  }
  async function post(url, body) {
    const r = await fetch(url, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": cfg.csrf}, body: JSON.stringify(body)});
    const data = await r.json();
    if (!r.ok) { showError(data); return null; }
    showError(null);
    return data;
  }
  function drawCandidates(fc) {
    candLayer.clearLayers();
    for (const f of fc.features) {
      if (f.properties.kind !== "candidate" && f.properties.kind !== "skipped") continue;
      const [lon, lat] = f.geometry.coordinates;
      const skipped = f.properties.kind === "skipped";
      const m = L.circleMarker([lat, lon], {radius: 3 + 3 * Math.sqrt(f.properties.value),
        color: skipped ? "#777" : "#e08000", weight: 1, fillOpacity: skipped ? 0.15 : 0.35,
        className: skipped ? "patrol-skipped" : "patrol-candidate"}).addTo(candLayer);
      tooltip(m, itemText(f.properties.items) + " · " + S["patrol.value"] + " " + f.properties.value +
        (skipped ? " · " + (S["patrol.skipped." + f.properties.reason] || f.properties.reason) : ""));
    }
  }
  function bearing(a, b) {
    const y = Math.sin((b[0] - a[0]) * Math.PI / 180) * Math.cos(b[1] * Math.PI / 180);
    const x = Math.cos(a[1] * Math.PI / 180) * Math.sin(b[1] * Math.PI / 180) -
      Math.sin(a[1] * Math.PI / 180) * Math.cos(b[1] * Math.PI / 180) * Math.cos((b[0] - a[0]) * Math.PI / 180);
    return Math.atan2(y, x) * 180 / Math.PI;
  }
  function drawArrows(coords, colour) {
    const every = Math.max(1, Math.floor(coords.length / 25));
    for (let i = every; i < coords.length; i += every) {
      const a = coords[i - 1], c = coords[i];
      if (a[0] === c[0] && a[1] === c[1]) continue;
      const icon = L.divIcon({className: "patrol-arrow", iconSize: [14, 14],
        html: '<div style="color:' + colour + ';transform:rotate(' + (bearing(a, c) - 90).toFixed(0) + 'deg)">&#10148;</div>'});
      L.marker([(a[1] + c[1]) / 2, (a[0] + c[0]) / 2], {icon: icon, interactive: false}).addTo(routeLayer);
    }
  }
  function clock(iso) {
    return new Date(iso).toLocaleTimeString(cfg.lang === "zh" ? "zh-CN" : "en-GB", {hour: "2-digit", minute: "2-digit"});
  }
  function drawPlan(fc) {
    routeLayer.clearLayers();
    drawCandidates(fc);
    const rows = $("patrol-stops").querySelector("tbody");
    rows.textContent = "";
    for (const f of fc.features) {
      const p = f.properties;
      if (p.kind === "route" && f.geometry) {
        const coords = f.geometry.coordinates;
        const line = L.polyline(coords.map((c) => [c[1], c[0]]), {color: p.colour, weight: 5, opacity: 0.8,
          className: "patrol-route"}).addTo(routeLayer);
        tooltip(line, S["patrol.team"] + " " + p.team);
        drawArrows(coords, p.colour);
      } else if (p.kind === "stop") {
        const [lon, lat] = f.geometry.coordinates;
        const icon = L.divIcon({className: "patrol-stop-label", iconSize: [20, 20],
          html: '<div style="border-color:' + p.colour + '">' + Number(p.order) + "</div>"});
        tooltip(L.marker([lat, lon], {icon: icon}).addTo(routeLayer), itemText(p.items));
        const tr = document.createElement("tr");
        tr.className = "patrol-stop-row";
        for (const v of [p.team, p.order, clock(p.arrival), itemText(p.items), p.value]) {
          const td = document.createElement("td");
          td.textContent = v;
          tr.appendChild(td);
        }
        tr.firstChild.style.borderLeft = "6px solid " + p.colour;
        rows.appendChild(tr);
      }
    }
    const s = fc.summary;
    $("patrol-summary").textContent = S["patrol.summary"]
      .replace("{stops}", s.stops).replace("{value}", s.value).replace("{available}", s.available_value)
      .replace("{share}", (100 * s.share).toFixed(1)).replace("{km}", (s.distance_m / 1000).toFixed(1))
      .replace("{minutes}", Math.round(s.duration_s / 60)).replace("{skipped}", s.skipped.length)
      .replace("{seconds}", s.timings.total_s);
    const ex = $("patrol-exports");
    ex.textContent = "";
    for (const fmt of ["gpx", "geojson"]) {
      const a = document.createElement("a");
      a.href = cfg.urls.patrol + fc.id + "." + fmt;
      a.textContent = fmt.toUpperCase();
      a.id = "patrol-export-" + fmt;
      ex.appendChild(a);
      ex.appendChild(document.createTextNode(" "));
    }
  }
  $("patrol-candidates").addEventListener("click", async () => {
    const fc = await post(cfg.urls.candidates, request());
    if (fc) { placeDepots(fc); drawCandidates(fc); }
  });
  $("patrol-plan").addEventListener("click", async () => {
    $("patrol-plan").disabled = true;
    try {
      const fc = await post(cfg.urls.plan, request());
      if (fc) { placeDepots(fc); drawPlan(fc); }
    } finally { $("patrol-plan").disabled = false; }
  });
  $("patrol-reach").addEventListener("click", async () => {
    if (!start) return;
    const ll = start.getLatLng();
    const r = await fetch(cfg.urls.reach + "?from=" + ll.lng + "," + ll.lat + "&mode=" + $("patrol-mode").value +
      "&minutes=5,10,15", {credentials: "same-origin"});
    const fc = await r.json();
    if (!r.ok) { showError(fc); return; }
    reachLayer.clearLayers();
    const shades = {5: "#08519c", 10: "#3182bd", 15: "#9ecae1"};
    for (const f of fc.features.slice().reverse()) {
      const layer = L.geoJSON(f, {style: {color: shades[f.properties.minutes] || "#3182bd", weight: 1,
        fillOpacity: 0.15, className: "patrol-reach"}}).addTo(reachLayer);
      tooltip(layer, f.properties.minutes + " min · " + f.properties.grids.length + " " + S["patrol.grids_covered"]);
    }
  });
  $("patrol-print").addEventListener("click", () => window.print());
})();
