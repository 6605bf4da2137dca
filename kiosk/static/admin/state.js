/* What the parts of the admin page share: the page's configuration, the submissions as last
   fetched, the status line, and the calls that change a submission. */
import { api } from "./api.js";

const MESSAGE_MS = 6000; // how long "Approved: …" stays in the status line
const FAILURE_MS = 15000; // an error stays longer: it may need reading twice

export const config = JSON.parse(document.getElementById("admin-config").textContent);

export const state = {
  subs: [], // every submission, as GET /api/admin/submissions last answered
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

function replaceSubmission(fresh) {
  const i = state.subs.findIndex((s) => s.id === fresh.id);
  if (i >= 0) state.subs[i] = fresh;
  else state.subs.push(fresh);
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
