// 线索汇总: the bar chart of clue counts by handling tier (stacked by the locality's tier), drawn
// with ECharts on a canvas from the counts the server rendered into its data-chart attribute; redrawn
// after every htmx swap. Empty form fields are not sent (the API refuses an empty filter).
"use strict";
(() => {
  const CHART_ID = "clue-chart";

  function drawChart() {
    const element = document.getElementById(CHART_ID);
    if (!element || !element.dataset.chart || !window.echarts) {
      return;
    }
    const data = JSON.parse(element.dataset.chart);
    const existing = window.echarts.getInstanceByDom(element);
    if (existing) {
      existing.dispose();
    }
    const chart = window.echarts.init(element, null, { renderer: "canvas" });
    const stacked = data.series.length > 0;
    const series = stacked
      ? data.series.map((s) => ({ name: s.name, type: "bar", stack: "tier", data: s.data }))
      : [{ name: element.dataset.title, type: "bar", data: data.counts }];
    chart.setOption({
      animation: false,
      textStyle: { fontFamily: '"Microsoft YaHei","PingFang SC","Noto Sans CJK SC",sans-serif' },
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 48, right: 16, top: 32, bottom: 28 },
      xAxis: { type: "category", data: data.tiers },
      yAxis: { type: "value", minInterval: 1 },
      series,
    });
    element.dataset.drawn = "true";
  }

  function dropEmptyFields(event) {
    const detail = event.detail;
    if (!detail.elt || !detail.elt.closest || !detail.elt.closest(".clue-form")) {
      return;
    }
    const form = detail.formData;
    if (form && typeof form.keys === "function") {
      for (const key of Array.from(form.keys())) {
        const kept = form.getAll(key).filter((v) => v !== "");
        form.delete(key);
        kept.forEach((v) => form.append(key, v));
      }
    }
  }

  document.addEventListener("DOMContentLoaded", drawChart);
  document.addEventListener("htmx:afterSettle", drawChart);
  document.addEventListener("htmx:configRequest", dropEmptyFields);
  window.addEventListener("resize", () => {
    const element = document.getElementById(CHART_ID);
    const chart = element && window.echarts ? window.echarts.getInstanceByDom(element) : null;
    if (chart) {
      chart.resize();
    }
  });
})();
