/* Draws the dashboard's charts with the vendored Chart.js (chart.umd.min.js, MIT licence beside it).
 * The numbers come from the page's json_script blocks: the same figures as the tables below each chart. */
(function () {
  "use strict";
  if (typeof Chart === "undefined") return;
  var data = JSON.parse(document.getElementById("chart-data").textContent);
  var labels = JSON.parse(document.getElementById("chart-labels").textContent);
  var wan = function (value) { return Number(value) / 10000; };
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var series = data[canvas.dataset.chart];
    if (!series) return;
    var horizontal = series.labels.length > 8;
    new Chart(canvas, {
      type: canvas.dataset.type || "bar",
      data: {
        labels: series.labels,
        datasets: [
          { label: labels.amount, data: series.amounts.map(wan), backgroundColor: "#0b4f9c" },
          { label: labels.tech, data: series.tech.map(wan), backgroundColor: "#b8860b" }
        ]
      },
      options: {
        indexAxis: horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: {
          legend: { position: "bottom" },
          tooltip: {
            callbacks: {
              label: function (ctx) {
                return ctx.dataset.label + ": " + ctx.parsed[horizontal ? "x" : "y"].toLocaleString(undefined, { maximumFractionDigits: 2 }) + " " + labels.unit;
              }
            }
          }
        },
        scales: { [horizontal ? "x" : "y"]: { title: { display: true, text: labels.unit } } }
      }
    });
  });
  var gauge = document.getElementById("target-chart");
  if (gauge) {
    var done = Math.min(Number(gauge.dataset.progress), 100);
    new Chart(gauge, {
      type: "doughnut",
      data: { labels: [labels.done, labels.missing], datasets: [{ data: [done, 100 - done], backgroundColor: ["#1e7b34", "#d9dee5"] }] },
      options: { animation: false, cutout: "70%", plugins: { legend: { position: "bottom" } } }
    });
  }
})();
