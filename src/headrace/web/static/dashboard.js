// headrace dashboard: draws the overview charts with the vendored uPlot from /api/overview,
// and lets Ctrl+Enter submit the query form. No other network access, no inline script
// (the Content-Security-Policy forbids it).
(function () {
  "use strict";

  const charts = {};
  window.headraceCharts = charts; // read by the browser tests

  function compact(value) {
    if (value == null) return "–";
    const abs = Math.abs(value);
    if (abs >= 1e9) return (value / 1e9).toFixed(1) + "G";
    if (abs >= 1e6) return (value / 1e6).toFixed(1) + "M";
    if (abs >= 1e3) return (value / 1e3).toFixed(1) + "k";
    return String(Math.round(value * 100) / 100);
  }

  function seconds(value) {
    if (value == null) return "–";
    if (value < 1) return Math.round(value * 1000) + " ms";
    if (value < 60) return value.toFixed(2) + " s";
    return Math.floor(value / 60) + " min " + String(Math.round(value % 60)).padStart(2, "0") + " s";
  }

  const formats = {
    s: seconds,
    rows: compact,
    "%": function (v) { return v == null ? "–" : v.toFixed(1) + "%"; },
  };

  function axisValues(unit) {
    const fmt = formats[unit] || compact;
    return function (u, splits) { return splits.map(fmt); };
  }

  // Times on the x axis in UTC, like every table on the page; labels fit the span shown.
  function timeValues(u, splits) {
    const span = u.scales.x.max - u.scales.x.min;
    const pattern = span < 300 ? "{HH}:{mm}:{ss}" : span < 2 * 86400 ? "{MMM} {D} {HH}:{mm}" : "{MMM} {D}";
    const format = uPlot.fmtDate(pattern);
    return splits.map(function (v) { return format(utc(v)); });
  }

  // Whole seconds at least: runs are never closer than that, and labels stay distinct.
  const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400,
    21600, 43200, 86400, 172800, 604800, 1209600, 2592000, 7776000, 31536000];

  function utc(seconds) {
    return uPlot.tzDate(new Date(seconds * 1000), "Etc/UTC");
  }

  function options(el, data, kind) {
    const unit = el.dataset.unit;
    const fmt = formats[unit] || compact;
    const points = kind === "points";
    const when = uPlot.fmtDate("{YYYY}-{MM}-{DD} {HH}:{mm}:{ss} UTC");
    const series = [{ label: "time", value: function (u, v) { return v == null ? "–" : when(utc(v)); } }].concat(
      data.series.map(function (s) {
        const spec = {
          label: s.name,
          stroke: s.colour,
          width: points ? 0 : 2,
          spanGaps: true,
          value: function (u, v) { return fmt(v); },
          points: { show: true, size: points ? 10 : 6, fill: s.colour, stroke: s.colour },
        };
        if (points) {
          spec.paths = function () { return null; };
          spec.fill = s.colour; // the legend's marker; no area is drawn without paths
        }
        return spec;
      })
    );
    // Durations and counts start at zero, so a bar's height means what it says.
    const scales = {
      x: { time: true },
      y: {
        range: unit === "%" ? [0, 100] : function (u, min, max) { return [0, max > 0 ? max * 1.08 : 1]; },
      },
    };
    return {
      width: Math.max(el.clientWidth, 280),
      height: kind === "points" ? 220 : 240,
      series: series,
      scales: scales,
      tzDate: utc,
      legend: { show: true, live: true },
      cursor: { drag: { x: true, y: false }, points: { size: 8 } },
      axes: [
        {
          stroke: "#57606a",
          grid: { stroke: "#eaeef2" },
          ticks: { stroke: "#d0d7de" },
          values: timeValues,
          incrs: TIME_STEPS,
          space: 80,
        },
        {
          stroke: "#57606a",
          grid: { stroke: "#eaeef2" },
          ticks: { stroke: "#d0d7de" },
          values: axisValues(unit),
          size: 64,
        },
      ],
    };
  }

  function draw(id, data, kind) {
    const el = document.getElementById(id);
    if (!el || !data) return;
    if (!data.x.length || !data.series.length) {
      const empty = el.querySelector(".chart-empty");
      if (empty) empty.hidden = false;
      el.classList.add("is-empty");
      return;
    }
    const aligned = [data.x].concat(data.series.map(function (s) { return s.values; }));
    charts[id] = new uPlot(options(el, data, kind), aligned, el);
  }

  function resize() {
    Object.keys(charts).forEach(function (id) {
      const el = document.getElementById(id);
      const chart = charts[id];
      if (el && chart) chart.setSize({ width: Math.max(el.clientWidth, 280), height: chart.height });
    });
  }

  function loadOverview() {
    if (!document.getElementById("timeline") || typeof uPlot === "undefined") return;
    fetch("/api/overview", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (data) {
        draw("timeline", data.timeline, "points");
        draw("duration", data.duration, "lines");
        draw("rows", data.rows, "lines");
        draw("quality", data.quality, "lines");
        document.body.dataset.chartsReady = "true";
        let pending = null;
        window.addEventListener("resize", function () {
          clearTimeout(pending);
          pending = setTimeout(resize, 100);
        });
      })
      .catch(function (err) {
        document.querySelectorAll(".chart").forEach(function (el) {
          const empty = el.querySelector(".chart-empty");
          if (empty) {
            empty.textContent = "Charts could not be loaded (" + err.message + "); the tables below have the data.";
            empty.hidden = false;
          }
        });
        document.body.dataset.chartsReady = "error";
      });
  }

  function queryShortcut() {
    const sql = document.getElementById("sql");
    if (!sql) return;
    sql.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        sql.form.requestSubmit();
      }
    });
  }

  loadOverview();
  queryShortcut();
})();
