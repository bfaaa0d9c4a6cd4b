// Talking to the AboutCloud API: the key lives in sessionStorage (this tab only).

const KEY_NAME = "aboutcloud.apiKey";

export function getKey() {
  return sessionStorage.getItem(KEY_NAME);
}

export function setKey(key) {
  sessionStorage.setItem(KEY_NAME, key.trim());
}

export function clearKey() {
  sessionStorage.removeItem(KEY_NAME);
}

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

// GET a JSON resource with the bearer key; errors become ApiError (problem+json bodies).
export async function apiGet(path, params = {}) {
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") {
      url.searchParams.set(name, String(value));
    }
  }
  const response = await fetch(url, {
    headers: { Authorization: `Bearer ${getKey() || ""}`, Accept: "application/json" },
  });
  if (!response.ok) {
    let problem = null;
    try {
      problem = await response.json();
    } catch (_) {
      problem = null;
    }
    throw new ApiError(response.status, problem);
  }
  return response.json();
}
