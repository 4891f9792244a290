// Draws Heldout's charts with Chart.js (vendored; loaded only when the page has a chart).
// Each <canvas data-chart="validation|history|shakeup|confusion|calibration|residuals|histogram"> takes its points from
// data-points (JSON) or fetches them from data-url. window.heldoutCharts(root) draws the charts of a part of
// the page swapped in later (the submission page's live refresh).
(function () {
  "use strict";
  const libraryUrl = document.currentScript && document.currentScript.dataset.chartLibrary;
  const TEAM = "#0172ad";
  const TOP = "#8a6d1c";
  const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  const dayFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
  const hourFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
  const secondFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  const HOUR_MS = 3600 * 1000;

  let loading = null;
  function withChartJs(draw) {
    if (window.Chart) return draw();
    if (!loading) {
      loading = new Promise(function (resolve) {
        const script = document.createElement("script");
        script.src = libraryUrl;
        script.addEventListener("load", resolve);
        document.head.appendChild(script);
      });
    }
    loading.then(draw);
  }

  function fixed(value, precision) {
    return value === null || value === undefined ? "—" : Number(value).toFixed(precision);
  }

  function history(canvas, data) {
    const points = (rows) => rows.map((r) => ({ x: Date.parse(r.t), y: r.score }));
    const times = data.team.concat(data.top).map((r) => Date.parse(r.t));
    // Over a short span, days alone would label every tick alike: show the time of day instead.
    const span = Math.max.apply(null, times) - Math.min.apply(null, times);
    const tickFormat = span < HOUR_MS ? secondFormat : span < 48 * HOUR_MS ? hourFormat : dayFormat;
    return new window.Chart(canvas, {
      type: "scatter",
      data: {
        datasets: [
          { label: "Your team" + (data.team_name ? " (" + data.team_name + ")" : ""), data: points(data.team),
            showLine: true, borderColor: TEAM, backgroundColor: TEAM, pointRadius: 4 },
          { label: "Leaderboard's top score", data: points(data.top), showLine: true, stepped: "before",
            borderColor: TOP, backgroundColor: TOP, borderDash: [6, 4], borderWidth: 2, pointRadius: 0 },
        ],
      },
      options: {
        maintainAspectRatio: false,
        scales: {
          x: { type: "linear", ticks: { callback: (v) => tickFormat.format(new Date(v)), maxTicksLimit: 8 } },
          y: { title: { display: true, text: data.metric + (data.greater_is_better ? " (higher is better)" : " (lower is better)") } },
        },
        plugins: {
          legend: { labels: { usePointStyle: true, pointStyle: "line" } },
          tooltip: { callbacks: { label: (ctx) => dateFormat.format(new Date(ctx.parsed.x)) + ": " + fixed(ctx.parsed.y, data.precision) } },
        },
      },
    });
  }

  function shakeup(canvas, data) {
    const n = data.points.length;
    return new window.Chart(canvas, {
      type: "scatter",
      data: {
        datasets: [
          { label: "Teams", data: data.points.map((p) => ({ x: p.public_rank, y: p.private_rank, team: p.team })),
            borderColor: TEAM, backgroundColor: TEAM, pointRadius: 4 },
          { label: "No change", data: [{ x: 1, y: 1 }, { x: n, y: n }], showLine: true, pointRadius: 0,
            borderColor: "#999", borderDash: [4, 4] },
        ],
      },
      options: {
        maintainAspectRatio: false,
        scales: {
          x: { title: { display: true, text: "Public rank" }, min: 1, reverse: false },
          y: { title: { display: true, text: "Private rank" }, min: 1, reverse: true },
        },
        plugins: {
          tooltip: { callbacks: { label: (ctx) => (ctx.raw.team ? ctx.raw.team + ": " : "") +
            "public " + ctx.parsed.x + ", private " + ctx.parsed.y } },
        },
      },
    });
  }

  const PALETTE = ["#0172ad", "#8a6d1c", "#2a7d4f", "#b33951", "#6c4f9e", "#c7651a", "#3b8ea5", "#7a7a7a"];

  function confusion(canvas, data) {
    // One bar per true label, split by the predicted label: the diagonal share is what was right.
    const totals = data.matrix.map((row) => row.reduce((a, b) => a + b, 0));
    return new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels.map((l) => "true " + l),
        datasets: data.labels.map((label, j) => ({
          label: "predicted " + label,
          data: data.matrix.map((row, i) => (totals[i] ? (100 * row[j]) / totals[i] : 0)),
          counts: data.matrix.map((row) => row[j]),
          backgroundColor: PALETTE[j % PALETTE.length],
        })),
      },
      options: {
        indexAxis: "y", maintainAspectRatio: false,
        scales: { x: { stacked: true, max: 100, title: { display: true, text: "% of the true label's public rows" } },
                  y: { stacked: true } },
        plugins: { tooltip: { callbacks: { label: (ctx) => ctx.dataset.label + ": " +
          ctx.dataset.counts[ctx.dataIndex] + " rows (" + ctx.parsed.x.toFixed(1) + "%)" } } },
      },
    });
  }

  function calibration(canvas, data) {
    return new window.Chart(canvas, {
      type: "scatter",
      data: {
        datasets: [
          { label: "Your predictions", data: data.bins.map((b) => ({ x: b.mean_predicted, y: b.observed, rows: b.rows })),
            showLine: true, borderColor: TEAM, backgroundColor: TEAM, pointRadius: 4 },
          { label: "Perfectly calibrated", data: [{ x: 0, y: 0 }, { x: 1, y: 1 }], showLine: true, pointRadius: 0,
            borderColor: "#999", borderDash: [4, 4] },
        ],
      },
      options: {
        maintainAspectRatio: false,
        scales: { x: { min: 0, max: 1, title: { display: true, text: data.probability } },
                  y: { min: 0, max: 1, title: { display: true, text: "observed: " + data.event } } },
        plugins: { tooltip: { callbacks: { label: (ctx) => ctx.raw.rows === undefined ? "" :
          "predicted " + ctx.parsed.x.toFixed(3) + ", observed " + ctx.parsed.y.toFixed(3) + " (" + ctx.raw.rows + " rows)" } } },
      },
    });
  }

  function residuals(canvas, data) {
    const at = (key) => data.bins.map((b) => ({ x: b.mean_predicted, y: b[key], rows: b.rows }));
    const xs = data.bins.map((b) => b.mean_predicted);
    return new window.Chart(canvas, {
      type: "scatter",
      data: {
        datasets: [
          { label: "10th percentile", data: at("p10"), showLine: true, pointRadius: 0, borderColor: "rgba(1,114,173,.3)" },
          { label: "90th percentile", data: at("p90"), showLine: true, pointRadius: 0, borderColor: "rgba(1,114,173,.3)",
            backgroundColor: "rgba(1,114,173,.15)", fill: "-1" },
          { label: "Mean residual", data: at("mean_residual"), showLine: true, borderColor: TEAM, backgroundColor: TEAM, pointRadius: 3 },
          { label: "No error", data: [{ x: Math.min.apply(null, xs), y: 0 }, { x: Math.max.apply(null, xs), y: 0 }],
            showLine: true, pointRadius: 0, borderColor: "#999", borderDash: [4, 4] },
        ],
      },
      options: {
        maintainAspectRatio: false,
        scales: { x: { title: { display: true, text: "predicted" } },
                  y: { title: { display: true, text: "residual (" + data.residual + ")" } } },
        plugins: { tooltip: { callbacks: { label: (ctx) => ctx.dataset.label + ": " + ctx.parsed.y.toPrecision(4) +
          (ctx.raw.rows ? " (" + ctx.raw.rows + " rows)" : "") } } },
      },
    });
  }

  function histogram(canvas, data) {
    const edges = data.edges;
    return new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.counts.map((_, i) => ((edges[i] + edges[i + 1]) / 2).toPrecision(3)),
        datasets: [{ label: "Public rows", data: data.counts, backgroundColor: TEAM, barPercentage: 1, categoryPercentage: 1 }],
      },
      options: {
        maintainAspectRatio: false,
        scales: { x: { title: { display: true, text: "residual (actual − predicted)" } },
                  y: { title: { display: true, text: "rows" }, beginAtZero: true } },
        plugins: { legend: { display: false } },
      },
    });
  }

  const FLAGGED = "#b33951";
  const PRIVATE = "#2a7d4f";

  // Validation versus leaderboard: one point per submission, validation score across and the board's public score
  // up (rounded as the board shows it); private scores beside them once revealed. A ladder board shows no public
  // score per submission: then the private scores alone, or the validation scores in the order made.
  function validation(canvas, data) {
    const withValidation = data.points.filter((p) => p.validation !== null);
    const axis = data.metric + (data.greater_is_better ? " (higher is better)" : " (lower is better)");
    const label = (p, y, what) => "#" + p.submission_id + (p.late ? " (late)" : "") + ": validation " + fixed(p.validation, 4) + ", " + what + " " +
      fixed(y, what === "public" ? data.precision : 4) + (p.validation_note ? " (" + p.validation_note + ")" : "");
    const datasets = [];
    if (data.public_shown) {
      const plain = withValidation.filter((p) => p.public !== null && !p.public_up_validation_down);
      const flagged = withValidation.filter((p) => p.public !== null && p.public_up_validation_down);
      datasets.push({ label: "Public score", data: plain.map((p) => ({ x: p.validation, y: p.public, p: p, what: "public" })),
                      borderColor: TEAM, backgroundColor: TEAM, pointRadius: 5 });
      if (flagged.length) {
        datasets.push({ label: "Public up, validation down", data: flagged.map((p) => ({ x: p.validation, y: p.public, p: p, what: "public" })),
                        borderColor: FLAGGED, backgroundColor: FLAGGED, pointStyle: "triangle", pointRadius: 8 });
      }
    }
    if (data.private_shown) {
      const priv = withValidation.filter((p) => p.private !== null && p.private !== undefined);
      datasets.push({ label: "Private score", data: priv.map((p) => ({ x: p.validation, y: p.private, p: p, what: "private" })),
                      borderColor: PRIVATE, backgroundColor: "#fff", pointStyle: "rectRot", pointRadius: 6, borderWidth: 2 });
    }
    let xTitle = "your validation score: " + axis;
    let yTitle = "score on the board: " + axis;
    if (!datasets.length) {
      datasets.push({ label: "Your validation score", showLine: true, borderColor: TEAM, backgroundColor: TEAM, pointRadius: 5,
                      data: withValidation.map((p, i) => ({ x: i + 1, y: p.validation, p: p, what: "order" })) });
      xTitle = "submission (in the order made)";
      yTitle = "your validation score: " + axis;
    }
    return new window.Chart(canvas, {
      type: "scatter",
      data: { datasets: datasets },
      options: {
        maintainAspectRatio: false,
        scales: { x: { title: { display: true, text: xTitle } }, y: { title: { display: true, text: yTitle } } },
        plugins: {
          legend: { labels: { usePointStyle: true } },
          tooltip: { callbacks: { label: (ctx) => ctx.raw.what === "order"
            ? "#" + ctx.raw.p.submission_id + ": validation " + fixed(ctx.parsed.y, 4)
            : label(ctx.raw.p, ctx.parsed.y, ctx.raw.what) } },
        },
      },
    });
  }

  const drawers = { validation: validation, history: history, shakeup: shakeup, confusion: confusion, calibration: calibration,
                    residuals: residuals, histogram: histogram };

  function pointsOf(canvas) {
    if (canvas.dataset.points) return Promise.resolve(JSON.parse(canvas.dataset.points));
    return fetch(canvas.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((r) => (r.ok ? r.json() : Promise.reject(r.status)));
  }

  function drawAll(root) {
    const canvases = (root || document).querySelectorAll("canvas[data-chart]");
    if (!canvases.length) return;
    withChartJs(function () {
      canvases.forEach(function (canvas) {
        const draw = drawers[canvas.dataset.chart];
        if (!draw || window.Chart.getChart(canvas)) return;
        pointsOf(canvas)
          .then((data) => draw(canvas, data))
          .catch(function () {
            const note = document.createElement("p");
            note.textContent = "The chart could not be loaded.";
            canvas.replaceWith(note);
          });
      });
    });
  }

  window.heldoutCharts = drawAll;
  drawAll(document);
})();
