// Dashboard entry: sign-in, hash routing (tenant -> cluster -> node -> metric), auto-refresh.

import { ApiError, apiGet, clearKey, getKey, setKey } from "./api.js";
import { el, hashFor, link } from "./dom.js";
import { clusterView, metricView, nodeView, overviewView } from "./views.js";

const $ = (id) => document.getElementById(id);
const refreshSeconds = Number(document.body.dataset.refreshSeconds) || 15;
let rendering = false;

function parseRoute() {
  const parts = window.location.hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  const route = {};
  for (let i = 0; i + 1 < parts.length; i += 2) {
    route[parts[i]] = decodeURIComponent(parts[i + 1]);
  }
  return route;
}

function renderCrumbs(route) {
  const crumbs = [link("Overview", "#/")];
  if (route.cluster) crumbs.push(link(route.cluster, hashFor(route.cluster)));
  if (route.node) crumbs.push(link(route.node, hashFor(route.cluster, route.node)));
  if (route.metric) crumbs.push(el("span", {}, route.metric));
  const nav = $("crumbs");
  nav.replaceChildren(...crumbs.flatMap((c, i) => (i ? [el("span", { class: "sep" }, "›"), c] : [c])));
}

function showSignIn(message = "") {
  $("sign-in").hidden = false;
  $("view").replaceChildren();
  $("sign-out").hidden = true;
  $("tenant").hidden = true;
  $("sign-in-error").textContent = message;
}

async function viewFor(route) {
  if (route.metric) return metricView(route.cluster, route.node, route.metric, $("view"));
  if (route.node) return nodeView(route.cluster, route.node);
  if (route.cluster) return clusterView(route.cluster);
  return overviewView();
}

async function render() {
  if (!getKey()) {
    showSignIn();
    return;
  }
  if (rendering) return;
  rendering = true;
  const route = parseRoute();
  try {
    const view = await viewFor(route);
    $("sign-in").hidden = true;
    $("sign-out").hidden = false;
    if (view.tenant) {
      $("tenant").textContent = `Tenant ${view.tenant}`;
      $("tenant").hidden = false;
    }
    renderCrumbs(route);
    $("view").replaceChildren(view.node);
    if (view.after) await view.after();
    $("status").textContent = "";
    $("refreshed").textContent = new Date().toLocaleTimeString();
    document.body.dataset.ready = "true";
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      clearKey();
      showSignIn("That key was not accepted (unknown, revoked or expired).");
    } else {
      $("status").textContent = `Could not load: ${error.message}`;
    }
  } finally {
    rendering = false;
  }
}

async function signIn(event) {
  event.preventDefault();
  const key = $("api-key").value;
  if (!key.trim()) return;
  setKey(key);
  try {
    await apiGet("/health", { top_n: 1 });
    $("api-key").value = "";
    window.location.hash = "#/";
    await render();
  } catch (error) {
    clearKey();
    showSignIn(error instanceof ApiError && error.status === 401
      ? "That key was not accepted." : `Sign-in failed: ${error.message}`);
  }
}

function signOut() {
  clearKey();
  delete document.body.dataset.ready;
  showSignIn();
}

$("sign-in-form").addEventListener("submit", signIn);
$("sign-out").addEventListener("click", signOut);
$("refresh-seconds").textContent = String(refreshSeconds);
window.addEventListener("hashchange", render);
window.setInterval(() => {
  if (!document.hidden && getKey()) render();
}, refreshSeconds * 1000);
render();
