// The planner page's "Auto plan" panel: posts the band and options to
// POST /api/plans/<id>/auto and opens the new draft; the run's report is kept in sessionStorage
// and shown in the same panel of the draft's page. User text is set with textContent only.
(function () {
  "use strict";
  const cfg = JSON.parse(document.getElementById("plan-config").textContent);
  const S = cfg.strings;
  const $ = (id) => document.getElementById(id);
  const form = $("plan-auto");
  const out = $("plan-auto-report");
  const KEY = "mapapp.autoReport." + cfg.plan;
  $("plan-auto-name").value = cfg.name + " · auto " + new Date().toISOString().slice(0, 16).replace("T", " ");

  function show(report) {
    const pct = (x) => (100 * x).toFixed(1) + " %";
    const lines = [
      S["plan.auto.grids"] + " " + report.grids + " · " + S["plan.auto.violations"] + " " + report.band_violations,
      S["plan.auto.compactness"] + " " + report.polsby_popper_mean + " / " + report.polsby_popper_worst,
      S["plan.auto.changed"] + " " + pct(report.households_changed_share) + " · " + S["plan.auto.kept"] + " " +
        report.kept_unchanged + " · " + report.seconds + " s",
    ];
    if (report.split_blocks && report.split_blocks.length) {
      lines.push(S["plan.auto.split_blocks"] + " " + report.split_blocks.length);
    }
    if (report.time_limit_reached) lines.push(S["plan.auto.time_limit_reached"]);
    out.replaceChildren(...lines.map((t) => Object.assign(document.createElement("div"), {textContent: t})));
  }
  const saved = sessionStorage.getItem(KEY);
  if (saved) {
    sessionStorage.removeItem(KEY);
    show(JSON.parse(saved));
    form.closest("details").open = true;
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const body = {
      name: $("plan-auto-name").value.trim(),
      band: [Number($("plan-auto-low").value), Number($("plan-auto-high").value)],
      time_limit: Number($("plan-auto-time").value),
      keep_locked: $("plan-auto-locked").checked,
      minimise_disruption: $("plan-auto-disruption").checked,
      follow_streets: $("plan-auto-streets").checked,
    };
    out.textContent = S["plan.auto.running"];
    form.querySelector("button").disabled = true;
    fetch("/api/plans/" + cfg.plan + "/auto", {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": cfg.csrf},
      body: JSON.stringify(body),
    }).then((r) => r.json().then((j) => ({status: r.status, body: j}))).then((res) => {
      form.querySelector("button").disabled = false;
      if (res.status !== 201) {
        out.textContent = S["plan.auto.failed"] + " " + (res.body.field ? res.body.field + ": " : "") +
          (res.body.message || res.body.error);
        return;
      }
      sessionStorage.setItem("mapapp.autoReport." + res.body.plan, JSON.stringify(res.body.report));
      const lang = cfg.lang === "en" ? "?lang=en" : "";
      window.location.assign("/plan/" + res.body.plan + lang);
    }).catch(() => {
      form.querySelector("button").disabled = false;
      out.textContent = S["plan.auto.failed"];
    });
  });
})();
