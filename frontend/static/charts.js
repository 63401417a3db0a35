// The quality charts: each <canvas data-qp-chart="ID"> is drawn by Chart.js from the JSON of
// the <script type="application/json" id="ID"> next to it (no inline script: the CSP forbids
// them). The same values are in the page's table, which the canvas points to.
"use strict";

(() => {
  // DSFR colours (blue France, red Marianne, green, orange), told apart by dashes and points too.
  const SERIES = [
    { color: "#000091", point: "circle", dash: [] },
    { color: "#c9191e", point: "rectRot", dash: [6, 3] },
    { color: "#18753c", point: "triangle", dash: [2, 2] },
  ];
  const TARGET = { color: "#3a3a3a", dashes: [[10, 5], [3, 4]] };

  const frenchNumber = (value) =>
    value.toLocaleString("fr-FR", { maximumFractionDigits: 2 });

  function dataset(entry, index, spec) {
    if (entry.target) {
      return {
        type: "line",
        label: entry.label,
        data: entry.data,
        borderColor: TARGET.color,
        backgroundColor: TARGET.color,
        borderDash: TARGET.dashes[index % TARGET.dashes.length],
        borderWidth: 2,
        pointRadius: 0,
        pointStyle: "line",
        order: 0,
      };
    }
    const style = SERIES[index % SERIES.length];
    return {
      type: spec.type,
      label: entry.label,
      data: entry.data,
      borderColor: style.color,
      backgroundColor: style.color,
      borderDash: spec.type === "line" ? style.dash : [],
      borderWidth: 2,
      pointStyle: style.point,
      pointRadius: 4,
      spanGaps: false,
      order: 1,
    };
  }

  function draw(canvas) {
    const source = document.getElementById(canvas.dataset.qpChart);
    if (!source || typeof window.Chart === "undefined") return;
    const spec = JSON.parse(source.textContent);
    let series = 0;
    let targets = 0;
    const datasets = spec.datasets.map((entry) =>
      dataset(entry, entry.target ? targets++ : series++, spec),
    );
    const withUnit = (value) => `${frenchNumber(value)} ${spec.unit}`;
    new window.Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        locale: "fr-FR",
        scales: {
          y: {
            beginAtZero: true,
            max: spec.max ?? undefined,
            title: { display: true, text: spec.axis },
            ticks: { callback: withUnit },
          },
        },
        plugins: {
          legend: { position: "bottom", labels: { usePointStyle: true } },
          tooltip: {
            callbacks: {
              label: (context) =>
                `${context.dataset.label} : ${
                  context.parsed.y === null ? "–" : withUnit(context.parsed.y)
                }`,
            },
          },
        },
      },
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("canvas[data-qp-chart]").forEach(draw);
  });
})();
