// One function per drill-down level: tenant -> cluster -> node -> metric.

import { apiGet } from "./api.js";
import { renderChart } from "./chart.js";
import {
  badge, contributors, el, hashFor, link, percent, row, score, table, when,
} from "./dom.js";

function anomaliesTable(items, id) {
  return table(
    ["Window start", "Cluster", "Node", "Metric", "Kind", "Score", "Explanation"],
    items.map((a) =>
      row(
        [
          when(a.window_start),
          link(a.cluster_id, hashFor(a.cluster_id)),
          link(a.node_id, hashFor(a.cluster_id, a.node_id)),
          link(a.metric_name, hashFor(a.cluster_id, a.node_id, a.metric_name)),
          [badge(a.anomaly_kind || a.anomaly_label), ...(a.ongoing ? [" ", ongoingBadge()] : [])],
          score(a.anomaly_score),
          a.explanation || "",
        ],
        { class: "anomaly-row" },
      ),
    ),
    { id, class: "data" },
  );
}

// An anomaly whose window reaches the last point detection scored: not over yet.
function ongoingBadge() {
  const mark = badge("ongoing");
  mark.title = "Still going on at the last detection run";
  return mark;
}

function nodesTable(nodes, id) {
  return table(
    ["#", "Cluster", "Node", "Score", "Health", "Anomalies", "Driven by"],
    nodes.map((n, i) =>
      row(
        [
          String(i + 1),
          link(n.cluster_id, hashFor(n.cluster_id)),
          link(n.node_id, hashFor(n.cluster_id, n.node_id)),
          score(n.aggregate_score),
          percent(n.health_score),
          String(n.num_anomalies_detected),
          contributors(n.contributors),
        ],
        { class: "node-row", dataset: { node: n.node_id } },
      ),
    ),
    { id, class: "data" },
  );
}

function healthCard(title, health, status) {
  return el(
    "div", { class: `card ${status}` },
    el("div", { class: "card-title" }, title),
    el("div", { class: "card-value" }, percent(health)),
    badge(status),
  );
}

export async function overviewView() {
  const [health, top, latest] = await Promise.all([
    apiGet("/health", { top_n: 3 }),
    apiGet("/nodes/top", { n: 10 }),
    apiGet("/anomalies", { limit: 15 }),
  ]);
  const clusters = table(
    ["Cluster", "Health", "Status", "Worst nodes"],
    health.clusters.map((c) =>
      row([
        link(c.cluster_id, hashFor(c.cluster_id)),
        percent(c.health_score),
        badge(c.status),
        c.top_nodes.map((n) => `${n.node_id} (${score(n.aggregate_score)})`).join(", "),
      ], { class: "cluster-row" }),
    ),
    { id: "clusters-table", class: "data" },
  );
  return {
    tenant: health.tenant_id,
    node: el(
      "div", { class: "overview" },
      el("div", { class: "cards" },
        healthCard(`Tenant ${health.tenant_id}`, health.health_score, health.status),
        ...health.clusters.map((c) => healthCard(`Cluster ${c.cluster_id}`, c.health_score, c.status))),
      el("h2", {}, "Clusters"), clusters,
      el("h2", {}, "Top anomalous nodes"), nodesTable(top.nodes, "nodes-table"),
      el("h2", {}, "Latest anomalies"), anomaliesTable(latest.items, "anomalies-table"),
    ),
  };
}

export async function clusterView(cluster) {
  const [top, latest] = await Promise.all([
    apiGet("/nodes/top", { cluster_id: cluster, n: 50 }),
    apiGet("/anomalies", { cluster_id: cluster, limit: 20 }),
  ]);
  return {
    node: el(
      "div", {},
      el("h1", {}, `Cluster ${cluster}`),
      el("h2", {}, "Nodes, most anomalous first"), nodesTable(top.nodes, "nodes-table"),
      el("h2", {}, "Latest anomalies"), anomaliesTable(latest.items, "anomalies-table"),
    ),
  };
}

export async function nodeView(cluster, node) {
  const [series, latest] = await Promise.all([
    apiGet("/metrics/series", { cluster_id: cluster, node_id: node }),
    apiGet("/anomalies", { cluster_id: cluster, node_id: node, limit: 20 }),
  ]);
  const counts = new Map();
  for (const a of latest.items) counts.set(a.metric_name, (counts.get(a.metric_name) || 0) + 1);
  const metrics = table(
    ["Metric", "Recent anomalies"],
    series.series.map((s) =>
      row([
        link(s.metric_name, hashFor(cluster, node, s.metric_name)),
        String(counts.get(s.metric_name) || 0),
      ], { class: "metric-row" }),
    ),
    { id: "metrics-table", class: "data" },
  );
  return {
    node: el(
      "div", {},
      el("h1", {}, `Node ${node}`),
      el("h2", {}, "Metrics"), metrics,
      el("h2", {}, "Latest anomalies"), anomaliesTable(latest.items, "anomalies-table"),
    ),
  };
}

export async function metricView(cluster, node, metric, previous) {
  const scored = await apiGet("/metrics/scores", {
    cluster_id: cluster, node_id: node, metric_name: metric,
  });
  const start = scored.timestamps.length ? scored.timestamps[0] : undefined;
  const anomalies = await apiGet("/anomalies", {
    cluster_id: cluster, node_id: node, metric_name: metric, start, limit: 500,
  });
  const chart = previous && previous.querySelector("#chart")
    ? previous.querySelector("#chart")
    : el("div", { id: "chart", class: "chart" });
  const node_ = el(
    "div", {},
    el("h1", {}, `${metric} on ${node}`),
    el("p", { class: "muted" }, `Cluster ${cluster} · scored by engine "${scored.engine}"`),
    chart,
    el("p", { class: "muted", id: "chart-legend" }, chartLegend(scored)),
    el("h2", {}, "Anomalies in this range"), anomaliesTable(anomalies.items, "anomalies-table"),
  );
  return { node: node_, after: () => renderChart(chart, scored, anomalies.items) };
}

// What the chart's shapes mean, in one line under it.
function chartLegend(scored) {
  const parts = [];
  if (scored.usual_lower) {
    parts.push("Shaded: the usual range, where the last day's points stayed around the"
      + " expected value (anomalies left out); a point outside it is unusual, not yet an alarm.");
  }
  if (scored.learning_until) {
    parts.push(`Grey: the detector is still learning this young series' normal behaviour`
      + ` until ${when(scored.learning_until)}; nothing alarms before then.`);
  }
  parts.push("Circles: anomalies the detector raised.");
  if (scored.limit) parts.push("Dashed: the metric's static limit.");
  const differs = (v, m) => v !== null && m !== null && Math.abs(v - m) > 1e-9 * Math.max(1, Math.abs(v));
  if (scored.modelled && scored.values.some((v, i) => differs(v, scored.modelled[i]))) {
    parts.push("A counter is drawn as its rate per second.");
  }
  return parts.join(" ");
}
