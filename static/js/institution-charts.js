// Bar charts with a bar per institution (the rankings' dashboard, the bureau's bulletin): lying
// bars, one readable name per bar (upright ones cut and skipped the names), each name shortened
// to fit, the whole name in the tooltip.
(function () {
  "use strict";
  // a CJK character is about twice a Latin letter's width: 12 of them, or 24 letters (English
  // names such as "Dalian Maritime University" were cut to the same "Dalian Mari…")
  function short(name) {
    let units = 0;
    for (let i = 0; i < name.length; i++) {
      units += name.charCodeAt(i) > 0x2e80 ? 2 : 1;
      if (units > 24) return name.slice(0, i - 1) + "…";
    }
    return name;
  }

  // canvasId: a canvas inside a .chart-box; datasets: Chart.js datasets, a value per name;
  // unit: what follows a value on the axis and in the tooltip ("%", or "" for none)
  window.institutionChart = function (canvasId, names, datasets, { unit = "", max } = {}) {
    const canvas = document.getElementById(canvasId);
    // 22 px a name with one bar, 8 px more for each further bar beside it
    const perName = 14 + 8 * datasets.length;
    canvas.parentElement.style.height = `${Math.max(220, names.length * perName + 40)}px`;
    const withUnit = (value) => (unit ? `${value} ${unit}` : `${value}`);
    return new Chart(canvas, {
      type: "bar", data: { labels: names, datasets },
      options: {
        indexAxis: "y", maintainAspectRatio: false,
        plugins: { legend: { display: datasets.length > 1 },
                   tooltip: { callbacks: { label: (item) =>
                     `${datasets.length > 1 ? item.dataset.label + ": " : ""}${withUnit(item.formattedValue)}` } } },
        scales: { x: { beginAtZero: true, max, ticks: { callback: withUnit } },
                  y: { ticks: { autoSkip: false, callback(value) { return short(this.getLabelForValue(value)); } } } },
      },
    });
  };
})();
