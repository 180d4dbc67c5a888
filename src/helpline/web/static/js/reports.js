// The report page: the history of GET /stats/history for a period, granularity, queue and
// agent, drawn with the vendored Chart.js (a classic script: window.Chart) and listed in a
// table; the CSV and XLSX links ask the same endpoint for the same filters as files. The
// staffing panel shows the agents Erlang C proposes (GET /stats/staffing) for the calls
// measured in the period. The filters are kept in the address, so a report can be shared.
import { LANG, attempt, clear, fmtDuration, get, h, qs, t, table } from "./common.js";

const $ = (id) => document.getElementById(id);
const FIELDS = ["start", "end", "granularity", "queue", "agent"];
const charts = {};
const stamp = new Intl.DateTimeFormat(LANG, { dateStyle: "short", timeStyle: "short" });
const day = new Intl.DateTimeFormat(LANG, { dateStyle: "medium" });
const clock = new Intl.DateTimeFormat(LANG, { timeStyle: "short" });
window.helplineReports = { charts };

const isoDay = (date) => `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, "0")}-${String(date.getDate()).padStart(2, "0")}`;
const percent = (value) => (value === null || value === undefined ? "–" : `${Math.round(value * 1000) / 10}%`);
const seconds = (value) => (value === null || value === undefined ? "–" : fmtDuration(Math.round(value)));

/** The filters of the form as the API's query parameters. */
function filters() {
  return {
    start: $("from").value, end: $("to").value, granularity: $("granularity").value,
    queue: $("queue").value, agent: $("agent").value,
  };
}

/** A bucket's start: the time alone within one day, the date for days and longer. */
function bucketLabel(row, report) {
  const at = new Date(row.bucket_start);
  if (report.granularity !== "15min" && report.granularity !== "hour") return day.format(at);
  return report.start === report.end ? clock.format(at) : stamp.format(at);
}

const COLUMNS = [
  ["rep.offered", (r) => r.offered], ["rep.answered", (r) => r.answered],
  ["rep.abandoned", (r) => r.abandoned], ["rep.service_level", (r) => percent(r.service_level)],
  ["rep.asa", (r) => seconds(r.asa_seconds)], ["rep.aht", (r) => seconds(r.aht_seconds)],
];

function draw(id, config) {
  if (charts[id]) charts[id].destroy();
  charts[id] = new window.Chart($(id), { ...config, options: { animation: false, responsive: true, maintainAspectRatio: false, ...config.options } });
}

function drawCharts(report) {
  const rows = report.rows;
  const labels = rows.map((r) => bucketLabel(r, report));
  draw("chart-volume", {
    type: "bar",
    data: { labels, datasets: [
      { label: t("rep.offered"), data: rows.map((r) => r.offered), backgroundColor: "#8aa4c8" },
      { label: t("rep.answered"), data: rows.map((r) => r.answered), backgroundColor: "#2e7d4f" },
      { label: t("rep.abandoned"), data: rows.map((r) => r.abandoned), backgroundColor: "#c0392b" },
    ] },
    options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  draw("chart-quality", {
    type: "line",
    data: { labels, datasets: [
      { label: `${t("rep.service_level")} (%)`, data: rows.map((r) => (r.service_level === null ? null : r.service_level * 100)), borderColor: "#2e7d4f", yAxisID: "pct", spanGaps: true },
      { label: `${t("rep.asa")} (s)`, data: rows.map((r) => r.asa_seconds), borderColor: "#8e44ad", yAxisID: "sec", spanGaps: true },
      { label: `${t("rep.aht")} (s)`, data: rows.map((r) => r.aht_seconds), borderColor: "#d35400", yAxisID: "sec", spanGaps: true },
    ] },
    options: { scales: {
      pct: { type: "linear", position: "left", min: 0, max: 100 },
      sec: { type: "linear", position: "right", beginAtZero: true, grid: { drawOnChartArea: false } },
    } },
  });
}

function showTable(report) {
  const columns = [[t("rep.period"), (r) => bucketLabel(r, report)], ...COLUMNS.map(([key, cell]) => [t(key), cell])];
  const rows = report.rows.filter((r) => r.offered || r.answered || r.abandoned);
  const shown = table(null, columns, rows, { empty: t("rep.no_data") });
  const total = report.totals[0];
  if (total) {
    shown.append(h("tfoot", {}, h("tr", { dataset: { total: "" } },
      h("th", { scope: "row" }, t("rep.total")), COLUMNS.map(([, cell]) => h("td", {}, cell(total))))));
  }
  clear($("table"), shown);
  $("summary").textContent = total ? t("rep.summary", { offered: total.offered, answered: total.answered, sl: percent(total.service_level) }) : "";
}

async function showStaffing(query) {
  const granularity = query.granularity === "15min" ? "15min" : "hour";
  const report = await attempt(() => get(`/stats/staffing${qs({ start: query.start, end: query.end, queue: query.queue, granularity })}`));
  if (!report) return;
  const rows = report.rows.filter((r) => r.calls > 0);
  clear($("staffing"), table(null, [
    [t("rep.period"), (r) => bucketLabel(r, report)],
    [t("rep.calls"), (r) => r.calls], [t("rep.aht"), (r) => seconds(r.aht_seconds)],
    [t("rep.erlangs"), (r) => r.traffic_erlangs.toFixed(2)], [t("rep.agents_needed"), (r) => r.agents],
    [t("rep.service_level"), (r) => percent(r.service_level)],
  ], rows, { empty: t("rep.no_data") }));
}

async function load() {
  const query = filters();
  const search = qs(query);
  history.replaceState(null, "", `${location.pathname}${search}`);
  $("csv").href = `/api/v1/stats/history${qs({ ...query, format: "csv" })}`;
  $("xlsx").href = `/api/v1/stats/history${qs({ ...query, format: "xlsx" })}`;
  const report = await attempt(() => get(`/stats/history${search}`));
  if (!report) return;
  drawCharts(report);
  showTable(report);
  await showStaffing(query);
  document.documentElement.dataset.ready = search;
}

function option(value, text) { return h("option", { value }, text); }

async function start() {
  const asked = new URLSearchParams(location.search);
  const today = isoDay(new Date());
  $("from").value = asked.get("start") || today;
  $("to").value = asked.get("end") || asked.get("start") || today;
  $("granularity").value = asked.get("granularity") || "hour";
  const [queues, agents] = await Promise.all([
    attempt(() => get("/queues?limit=500")),
    attempt(() => get("/agents?limit=500")),
  ]);
  for (const q of queues ? queues.items : []) $("queue").append(option(q.name, q.name));
  for (const a of agents ? agents.items : []) {
    for (const key of new Set([a.username, ...a.sip_accounts])) $("agent").append(option(key, key === a.username ? a.display_name || key : `${key} (${a.display_name || a.username})`));
  }
  for (const name of FIELDS.slice(3)) if (asked.get(name)) $(name).value = asked.get(name);
  $("filters").addEventListener("submit", (event) => { event.preventDefault(); load(); });
  for (const name of ["queue", "agent", "granularity"]) $(name).addEventListener("change", load);
  await load();
}

start();
