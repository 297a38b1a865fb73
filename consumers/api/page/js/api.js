// The API: JSON answers, and the error shape {error, message} as an Error. Paths are the API's own
// (`/classes/...`); `configureApi` sets the prefix they are fetched under and, on AWS, where the
// access token comes from (js/auth.js), sent as `Authorization: Bearer`.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const api = { base: "", token: null, onUnauthorized: () => {} };

// base: the page config's apiBase; token: async () => an access token, or null when nobody is
// signed in (then nothing is fetched); onUnauthorized: the API refused the token sent.
export function configureApi({ base = "", token = null, onUnauthorized = () => {} }) {
  Object.assign(api, { base, token, onUnauthorized });
}

export async function get(path, query = {}) {
  const params = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== null && v !== undefined && v !== ""));
  const url = `${api.base}${params.size ? `${path}?${params}` : path}`;
  const headers = { Accept: "application/json" };
  if (api.token) {
    const token = await api.token();
    if (!token) throw new ApiError(401, "signed_out", "Sign in to see the races");
    headers.Authorization = `Bearer ${token}`;
  }
  const answer = await fetch(url, { headers });
  const body = await answer.json().catch(() => ({}));
  if (answer.status === 401 && api.token) api.onUnauthorized();
  if (!answer.ok) throw new ApiError(answer.status, body.error || "http_error", body.message || `${answer.status} from ${path}`);
  return body;
}

// Pages of a cursor-paged list: next() / previous() walk it, keeping the cursors seen.
export class Pager {
  constructor(path, key, limit) {
    this.path = path;
    this.key = key;
    this.limit = limit;
    this.cursors = [null]; // cursors[i]: the cursor of page i
    this.index = 0;
    this.next_cursor = null;
  }

  async load() {
    const body = await get(this.path, { limit: this.limit, cursor: this.cursors[this.index] });
    this.next_cursor = body.nextCursor;
    return body[this.key];
  }

  get hasNext() { return Boolean(this.next_cursor); }
  get hasPrevious() { return this.index > 0; }

  next() {
    this.cursors[this.index + 1] = this.next_cursor;
    this.index += 1;
    return this.load();
  }

  previous() {
    this.index -= 1;
    return this.load();
  }
}
