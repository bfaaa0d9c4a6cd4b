// The series chart: values, usual range, anomaly windows and markers, score underneath.
// plotly.js (several MB) is loaded only when the first chart is drawn, so the overview
// page does not wait for it.

const PLOTLY_URL = "/static/vendor/plotly.min.js";
let plotlyLoading = null;

function loadPlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!plotlyLoading) {
    plotlyLoading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = PLOTLY_URL;
      script.onload = () => resolve(window.Plotly);
      script.onerror = () => {
        plotlyLoading = null;
        reject(new Error("could not load the chart library"));
      };
      document.head.append(script);
    });
  }
  return plotlyLoading;
}

function nearestIndex(times, target) {
  let lo = 0;
  let hi = times.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid] < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// One marker per anomaly: the point of the window that deviates most from expected.
function anomalyMarkers(scored, anomalies) {
  const times = scored.timestamps.map((t) => Date.parse(t));
  const x = [];
  const y = [];
  const text = [];
  for (const a of anomalies) {
    const from = nearestIndex(times, Date.parse(a.window_start));
    const to = Math.max(from, nearestIndex(times, Date.parse(a.window_end)));
    let best = from;
    for (let i = from; i <= Math.min(to, times.length - 1); i += 1) {
      if (deviation(scored, i) > deviation(scored, best)) best = i;
    }
    if (best >= times.length) continue;
    x.push(scored.timestamps[best]);
    y.push((scored.modelled || scored.values)[best]);
    text.push(`${a.anomaly_kind || a.anomaly_label} · score ${a.anomaly_score.toFixed(2)}` +
      (a.explanation ? `<br>${escapeHtml(a.explanation)}` : ""));
  }
  return { x, y, text };
}

function deviation(scored, i) {
  if (scored.scores && scored.scores[i] !== null) return scored.scores[i];
  const expected = scored.expected ? scored.expected[i] : null;
  const value = (scored.modelled || scored.values)[i];
  return expected === null || expected === undefined ? 0 : Math.abs(value - expected);
}

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function windowShapes(anomalies) {
  return anomalies.map((a) => ({
    type: "rect", xref: "x", yref: "paper", x0: a.window_start, x1: a.window_end,
    y0: 0.28, y1: 1, fillcolor: "rgba(220, 53, 69, 0.12)", line: { width: 0 }, layer: "below",
  }));
}

// A young series' learning period: from its first shown point to when the detector first
// hears it (or the chart's end, if that is later), labelled so a quiet score line is read as
// "still learning", not as "nothing unusual".
function learningShapes(scored) {
  const until = scored.learning_until;
  if (!until || !scored.timestamps.length) return [];
  const last = scored.timestamps[scored.timestamps.length - 1];
  const end = Date.parse(until) < Date.parse(last) ? until : last;
  return [{
    type: "rect", xref: "x", yref: "paper", x0: scored.timestamps[0], x1: end,
    y0: 0, y1: 1, fillcolor: "rgba(108, 117, 125, 0.12)", line: { width: 0 }, layer: "below",
    name: "learning",
    label: {
      text: "learning", textposition: "top left", font: { size: 11, color: "#6c757d" },
    },
  }];
}

// The metric's static limits, drawn where the chart is in the values' own units (a
// counter is charted as a rate, which its limit does not bound).
function limitLevels(scored) {
  const limit = scored.limit;
  if (!limit || (scored.modelled && !sameValues(scored.modelled, scored.values))) return [];
  return [limit.above, limit.below].filter((v) => v !== null && v !== undefined);
}

// Equal up to rounding (the modelled series may differ from the values in the last digit).
function sameValues(a, b) {
  return a.every((v, i) => {
    const w = b[i];
    if (v === null || w === null) return v === w;
    return Math.abs(v - w) <= 1e-9 * Math.max(1, Math.abs(w));
  });
}

function limitShapes(levels) {
  return levels.map((level) => ({
    type: "line", xref: "paper", x0: 0, x1: 1, yref: "y", y0: level, y1: level,
    line: { color: "#fd7e14", width: 1.5, dash: "dash" }, name: "limit",
    label: {
      text: `limit ${Number(level.toPrecision(4))}`, textposition: "end",
      font: { size: 11, color: "#fd7e14" },
    },
  }));
}

// Fit the y axis to the data (and any limit), not to the band: the band may reach beyond.
function valueRange(values) {
  const finite = values.filter((v) => v !== null && Number.isFinite(v));
  if (!finite.length) return undefined;
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  const pad = (hi - lo) * 0.15 || Math.abs(hi) * 0.1 || 1;
  return [lo - pad, hi + pad];
}

export async function renderChart(container, scored, anomalies) {
  const Plotly = await loadPlotly();
  // Counters are modelled as rates: plot the series in the band's units.
  const shown = scored.modelled || scored.values;
  const traces = [];
  // The usual range (where the last day's points stayed around the forecast), not the alarm
  // band (where one point alone would alarm), which can reach far beyond the values.
  if (scored.usual_lower && scored.usual_upper) {
    traces.push({
      name: "usual upper", x: scored.timestamps, y: scored.usual_upper, mode: "lines",
      line: { width: 0 }, hoverinfo: "skip", showlegend: false,
    });
    traces.push({
      name: "usual range", x: scored.timestamps, y: scored.usual_lower, mode: "lines",
      line: { width: 0 }, fill: "tonexty", fillcolor: "rgba(13, 110, 253, 0.15)",
      hoverinfo: "skip",
    });
  }
  if (scored.expected) {
    traces.push({
      name: "expected", x: scored.timestamps, y: scored.expected, mode: "lines",
      line: { dash: "dot", width: 1, color: "#0d6efd" },
    });
  }
  traces.push({
    name: scored.metric_name, x: scored.timestamps, y: shown, mode: "lines",
    line: { width: 1.5, color: "#212529" },
  });
  const markers = anomalyMarkers(scored, anomalies);
  traces.push({
    name: "anomalies", x: markers.x, y: markers.y, text: markers.text, mode: "markers",
    hovertemplate: "%{x}<br>%{y}<br>%{text}<extra></extra>",
    marker: { color: "#dc3545", size: 10, symbol: "circle-open", line: { width: 2 } },
  });
  if (scored.scores) {
    traces.push({
      name: "anomaly score", x: scored.timestamps, y: scored.scores, mode: "lines",
      yaxis: "y2", line: { width: 1, color: "#dc3545" },
    });
  }
  const levels = limitLevels(scored);
  const layout = {
    margin: { l: 50, r: 20, t: 10, b: 40 },
    height: 460,
    legend: { orientation: "h", y: 1.08 },
    xaxis: { type: "date" },
    yaxis: {
      domain: [0.28, 1], title: { text: scored.metric_name },
      range: valueRange([...shown, ...levels]),
    },
    yaxis2: { domain: [0, 0.2], range: [0, 1], title: { text: "score" } },
    shapes: [...learningShapes(scored), ...windowShapes(anomalies), ...limitShapes(levels)],
    uirevision: `${scored.cluster_id}/${scored.node_id}/${scored.metric_name}`,
  };
  await Plotly.react(container, traces, layout, { responsive: true, displaylogo: false });
  container.dataset.anomalyCount = String(markers.x.length);
  container.dataset.learningUntil = scored.learning_until || "";
}
