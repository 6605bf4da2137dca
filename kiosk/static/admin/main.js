/* Hallway Kiosk admin page: plain JavaScript modules, no build step.

   Everything shown comes from the JSON API (/api/admin/...), polled every `poll_ms`, and goes
   into the page through textContent only. A card is rebuilt only when its data changed, and
   never while the moderator is typing in it. This module fetches, and wires the page up. */
import { api, useCsrfToken } from "./api.js";
import { h, refreshTimes } from "./dom.js";
import { renderAudit, renderScreens, renderUsers, setUpAddUser } from "./people.js";
import { renderQueue } from "./queue.js";
import { config, providePage, state } from "./state.js";

// The open tab's table, beyond the submissions that every tab's counts need.
const TAB_TABLES = {
  audit: { path: "/api/admin/audit", render: (data) => renderAudit(data.entries) },
  screens: { path: "/api/admin/screens", render: (data) => renderScreens(data.screens) },
  users: { path: "/api/admin/users", render: (data) => renderUsers(data.users) },
};

const background = (path) => api("GET", path, undefined, true);

/** A big drop takes a while: say how far the server has got, from /healthz's backlog. */
async function showBacklog() {
  const banner = document.getElementById("ingesting");
  const health = await fetch("/healthz").then((r) => r.json());
  const backlog = health.ingesting;
  banner.hidden = !backlog;
  if (backlog) banner.textContent = `Reading new stories: ${backlog.done} of ${backlog.total}…`;
}

async function fetchAndRender() {
  try {
    showBacklog().catch(() => {}); // /healthz answers 503 with the same body when degraded
    state.subs = (await background("/api/admin/submissions")).submissions;
    renderQueue();
    const table = TAB_TABLES[state.tab];
    if (table) table.render(await background(table.path));
    refreshTimes();
    document.getElementById("offline").hidden = true;
  } catch (err) {
    if (err.status !== 401) document.getElementById("offline").hidden = false;
  }
}

let running = null;

/** Fetch everything again; a call while one is under way joins it. */
function refresh() {
  running =
    running ||
    fetchAndRender().finally(() => {
      running = null;
    });
  return running;
}

// ---- tabs (WAI-ARIA tabs pattern: arrow keys move between tabs) -------------------------------
const tabs = [...document.querySelectorAll('[role="tab"]')];

function showTab(name, focus = false) {
  const tab = tabs.find((t) => t.dataset.tab === name) || tabs[0];
  state.tab = tab.dataset.tab;
  for (const t of tabs) {
    const selected = t === tab;
    t.setAttribute("aria-selected", String(selected));
    t.tabIndex = selected ? 0 : -1;
    document.getElementById(t.getAttribute("aria-controls")).hidden = !selected;
  }
  if (focus) tab.focus();
  tab.scrollIntoView({ block: "nearest", inline: "nearest" });
  history.replaceState(null, "", `#${state.tab}`);
  refresh();
}

function setUpTabs() {
  for (const tab of tabs) {
    tab.addEventListener("click", () => showTab(tab.dataset.tab));
    tab.addEventListener("keydown", (event) => {
      const i = tabs.indexOf(tab);
      const targets = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 };
      const next = targets[event.key];
      if (next === undefined) return;
      event.preventDefault();
      showTab(tabs[(next + tabs.length) % tabs.length].dataset.tab, true);
    });
  }
}

function setUpPreviewScreen() {
  const select = document.getElementById("preview-screen");
  for (const s of config.screens) {
    select.append(h("option", { value: s.name, text: `${s.name} (${s.orientation})` }));
  }
  select.addEventListener("change", () => {
    state.screen = select.value;
    renderQueue();
  });
}

function setUpSignOut() {
  document.getElementById("logout").addEventListener("click", async () => {
    try {
      await api("POST", "/api/admin/logout");
    } finally {
      location.assign("/admin/login");
    }
  });
}

useCsrfToken(config.csrf);
providePage({ render: renderQueue, refresh });
setUpAddUser();
setUpTabs();
setUpPreviewScreen();
setUpSignOut();
showTab(location.hash.slice(1) || "pending");
setInterval(() => {
  if (!document.hidden) refresh();
}, config.poll_ms);
document.addEventListener("visibilitychange", () => {
  if (!document.hidden) refresh();
});
