/* The tabs about people and machines: the audit log, the screens' heartbeats, and (for admins)
   who may sign in. Each is a table redrawn whole whenever its tab is open and polled. */
import { api } from "./api.js";
import { h, when } from "./dom.js";
import { config, flash, refresh } from "./state.js";

// What each audit action means, in words.
const ACTIONS = {
  pending: "arrived, waiting for a decision",
  problem: "arrived with a problem",
  approve: "approved",
  reject: "rejected",
  retire: "retired",
  edit: "edited",
  moved: "file moved or renamed",
  "add user": "added a user",
  "remove user": "removed a user",
  "change password": "changed a password",
  "create token": "created an API token",
  "revoke token": "revoked an API token",
};

function auditDetail(entry) {
  const d = entry.detail || {};
  if (d.reason) return `“${d.reason}”`;
  if (d.changes) {
    return Object.entries(d.changes)
      .map(([k, v]) => `${k}: ${Array.isArray(v) ? `[${v.join(", ")}]` : v}`)
      .join("; ");
  }
  if (d.problems && d.problems.length) return d.problems.join(" ");
  if (d.user) return `${d.user}${d.role ? ` (${d.role})` : ""}`;
  if (d.token) return d.token;
  if (d.to) return `${d.src} → ${d.to}`;
  return "";
}

/** rows: [{cells: [...], class}]; each cell carries its heading for the phone layout. */
function table(headings, rows) {
  const cell = (content, i) => {
    const attrs = { scope: i ? null : "row", "data-label": headings[i] };
    return h(i ? "td" : "th", attrs, h("span", {}, content));
  };
  const body = rows.map((row) => h("tr", { class: row.class }, row.cells.map(cell)));
  const head = h("tr", {}, headings.map((text) => h("th", { scope: "col", text })));
  return h("table", {}, h("thead", {}, head), h("tbody", {}, body));
}

export function renderAudit(entries) {
  const rows = entries.map((e) => ({
    cells: [
      when(e.at),
      e.actor,
      ACTIONS[e.action] || e.action,
      [e.name ? `${e.name} ` : "", e.source ? h("code", { text: e.source }) : ""],
      auditDetail(e),
    ],
  }));
  const wrap = document.querySelector('[data-list="audit"]');
  wrap.replaceChildren(
    entries.length
      ? table(["When", "Who", "What", "Story", "Details"], rows)
      : h("p", { class: "empty", text: "Nothing has happened yet." }),
  );
}

function screenState(screen) {
  if (screen.other_address) {
    // Two screens with one name take turns: each heartbeat overwrites the other's.
    const text =
      `Two screens call themselves ${screen.name}: ${screen.other_address} and ` +
      `${screen.address} — give one another name (SCREEN_NAME in /etc/kiosk/screen.conf)`;
    return h("strong", { class: "bad-text", text });
  }
  if (!screen.silent) return "OK";
  const minutes = Math.round(screen.silent_seconds / 60);
  const text = `Silent for ${minutes} min: check its power and network`;
  return h("strong", { class: "bad-text", text });
}

/** "Accepted", or a button to vouch for a screen nobody named in the settings. */
function acceptance(screen) {
  if (screen.accepted) return "Accepted";
  const button = h(
    "button",
    { type: "button", "aria-label": `Accept screen ${screen.name}` },
    "Accept",
  );
  button.addEventListener("click", async () => {
    try {
      await api("POST", `/api/admin/screens/${encodeURIComponent(screen.name)}/accept`);
      flash(`Accepted screen ${screen.name}: it is kept for good.`);
      refresh();
    } catch (err) {
      flash(err.message, true);
    }
  });
  return h("span", {}, h("span", { class: "muted", text: "Not accepted " }), button);
}

export function renderScreens(screens) {
  const rows = screens.map((s) => ({
    class: s.silent || s.other_address ? "silent" : null,
    cells: [
      s.name,
      screenState(s),
      acceptance(s),
      when(s.last_seen),
      s.showing || "—",
      s.other_address ? `${s.address}, ${s.other_address}` : s.address || "",
    ],
  }));
  const headings = ["Screen", "State", "Accepted", "Last heartbeat", "Showing", "Address"];
  const wrap = document.querySelector('[data-list="screens"]');
  wrap.replaceChildren(screens.length ? table(headings, rows) : "");
  document.querySelector('[data-empty="screens"]').hidden = screens.length > 0;
}

function removeUserButton(user) {
  const button = h(
    "button",
    {
      type: "button",
      class: "danger",
      "aria-label": `Remove ${user.name}`,
      disabled: user.name === config.user, // not the account in use
    },
    "Remove",
  );
  button.addEventListener("click", async () => {
    try {
      await api("DELETE", `/api/admin/users/${encodeURIComponent(user.name)}`);
      flash(`Removed ${user.name}.`);
      refresh();
    } catch (err) {
      flash(err.message, true);
    }
  });
  return button;
}

export function renderUsers(users) {
  const rows = users.map((u) => ({
    cells: [u.name, u.role, when(u.created_at), removeUserButton(u)],
  }));
  const wrap = document.querySelector('[data-list="users"]');
  wrap.replaceChildren(table(["User", "Role", "Added", ""], rows));
}

/** The "Add a user" form (on the page for admins only). */
export function setUpAddUser() {
  const form = document.getElementById("add-user");
  if (!form) return;
  const field = (name) => form.elements.namedItem(name).value;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const user = await api("POST", "/api/admin/users", {
        username: field("username"),
        role: field("role"),
        password: field("password"),
      });
      form.reset();
      flash(`Added ${user.name} (${user.role}).`);
      refresh();
    } catch (err) {
      flash(err.message, true);
    }
  });
}
