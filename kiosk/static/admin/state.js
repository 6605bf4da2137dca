/* What the parts of the admin page share: the page's configuration, the lists as last fetched,
   the status line, and the calls that change a submission. */
import { api } from "./api.js";

const MESSAGE_MS = 6000; // how long "Approved: …" stays in the status line
const FAILURE_MS = 15000; // an error stays longer: it may need reading twice

export const config = JSON.parse(document.getElementById("admin-config").textContent);

// The four story lists, each read a page at a time from the server, in the order its tab shows;
// `keep` says whether a submission still belongs after a change made on this page.
export const LISTS = {
  pending: { query: "status=pending", keep: (s) => s.status === "pending" },
  approved: {
    query: "on_screen=true&order=playing",
    keep: (s) => Boolean(s.on_screen) && s.status !== "retired",
  },
  rejected: { query: "status=rejected&order=newest", keep: (s) => s.status === "rejected" },
  problem: { query: "status=problem", keep: (s) => s.status === "problem" },
};

export const state = {
  // Per list: the submissions loaded so far (pages in order), the cursor of the next page, and
  // the ETag of the first request, as GET /api/admin/submissions last answered.
  lists: Object.fromEntries(Object.keys(LISTS).map((k) => [k, { items: [], next: null }])),
  counts: {}, // how many each tab lists, from GET /api/admin/counts
  tab: "pending",
  screen: config.screens[0].name, // the previews show the stories as this screen would
};

const messageNode = document.getElementById("flash");
const failureNode = document.getElementById("failure");
let flashTimer = 0;

/** Say what just happened (or went wrong) in the status line, for a few seconds. */
export function flash(message, failed = false) {
  clearTimeout(flashTimer);
  messageNode.textContent = failed ? "" : message;
  failureNode.textContent = failed ? message : "";
  flashTimer = setTimeout(
    () => {
      messageNode.textContent = "";
      failureNode.textContent = "";
    },
    failed ? FAILURE_MS : MESSAGE_MS,
  );
}

// main.js provides these two: the cards call them, and importing main.js would make a cycle.
const page = { render() {}, refresh() {} };

/** `render` draws the lists from `state`; `refresh` fetches everything again, then draws. */
export function providePage(actions) {
  Object.assign(page, actions);
}

export function render() {
  page.render();
}

export function refresh() {
  return page.refresh();
}

/** A submission this page changed, in every list that holds it (the lists drop what no longer
    belongs when they are drawn; the next fetch brings it where it now belongs). */
function replaceSubmission(fresh) {
  for (const list of Object.values(state.lists)) {
    const i = list.items.findIndex((s) => s.id === fresh.id);
    if (i >= 0) list.items[i] = fresh;
  }
}

/** Change a submission (approve, reject, edit…): say `done`, or what went wrong; a form that
   can show a field's error beside the field passes `fieldError(fields)`, true when it did. */
export async function changeSubmission(sub, method, suffix, body, done, fieldError = null) {
  try {
    replaceSubmission(await api(method, `/api/admin/submissions/${sub.id}${suffix}`, body));
    flash(done);
    render();
    return true;
  } catch (err) {
    if (!(fieldError && fieldError(err.fields || {}))) flash(err.message, true);
    if (err.status === 409 || err.status === 404) refresh(); // it changed or went away meanwhile
    return false;
  }
}
