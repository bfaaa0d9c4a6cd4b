// Small DOM helpers. Text always goes in through textContent, never innerHTML.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function link(text, hash, attrs = {}) {
  return el("a", { href: hash, ...attrs }, text);
}

export function table(headers, rows, attrs = {}) {
  const head = el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h))));
  const body = el("tbody", {}, rows);
  if (!rows.length) {
    body.append(el("tr", {}, el("td", { colspan: headers.length, class: "empty" }, "Nothing yet")));
  }
  return el("table", attrs, head, body);
}

export function row(cells, attrs = {}) {
  return el("tr", attrs, cells.map((cell) => el("td", {}, cell)));
}

export function score(value) {
  return value === null || value === undefined ? "–" : Number(value).toFixed(2);
}

export function percent(value) {
  return value === null || value === undefined ? "–" : `${Math.round(Number(value) * 100)} %`;
}

export function badge(status) {
  return el("span", { class: `badge ${status}` }, status.replace("_", " "));
}

export function when(iso) {
  if (!iso) return "–";
  return iso.replace("T", " ").replace(/(:\d\d)(\.\d+)?Z$/, "$1 UTC");
}

export function contributors(list, top = 3) {
  return (list || [])
    .slice(0, top)
    .map((c) => `${c.component} ${score(c.score)} (${Math.round(c.share * 100)} %)`)
    .join(", ");
}

export function hashFor(cluster, node, metric) {
  const parts = ["#"];
  if (cluster) parts.push("cluster", encodeURIComponent(cluster));
  if (node) parts.push("node", encodeURIComponent(node));
  if (metric) parts.push("metric", encodeURIComponent(metric));
  return parts.length === 1 ? "#/" : parts.join("/");
}
