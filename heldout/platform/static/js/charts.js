// Draws the challenge page's charts with Chart.js (vendored; loaded only when the page has a chart).
// Each <canvas data-chart="history|shakeup" data-url="..."> fetches its points as JSON from the server.
(function () {
  "use strict";
  const canvases = document.querySelectorAll("canvas[data-chart]");
  if (!canvases.length) return;
  const libraryUrl = document.currentScript && document.currentScript.dataset.chartLibrary;
  const TEAM = "#0172ad";
  const TOP = "#8a6d1c";
  const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  const dayFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
  const hourFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
  const secondFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  const HOUR_MS = 3600 * 1000;

  function withChartJs(draw) {
    if (window.Chart) return draw();
    const script = document.createElement("script");
    script.src = libraryUrl;
    script.addEventListener("load", draw);
    document.head.appendChild(script);
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

  const drawers = { history: history, shakeup: shakeup };

  withChartJs(function () {
    canvases.forEach(function (canvas) {
      const draw = drawers[canvas.dataset.chart];
      if (!draw) return;
      fetch(canvas.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
        .then((data) => draw(canvas, data))
        .catch(function () {
          const note = document.createElement("p");
          note.textContent = "The chart could not be loaded.";
          canvas.replaceWith(note);
        });
    });
  });
})();
