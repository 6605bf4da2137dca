/* Hallway Kiosk admin page: plain JavaScript modules, no build step.

   Everything shown comes from the JSON API (/api/admin/...) and goes into the page through
   textContent only. The server says when the library changed (server-sent events, at
   /api/admin/events); the page then asks again for what it shows, with the ETag it holds, so an
   unchanged list costs a 304. Only if the event stream is cut does it poll, every `poll_ms`.
   A card is rebuilt only when its data changed, and never while the moderator is typing in it.
   This module fetches, and wires the page up. */
import { api, fetchIfChanged, useCsrfToken } from "./api.js";
import { h, refreshTimes } from "./dom.js";
import { renderAudit, renderScreens, renderUsers, setUpAddUser } from "./people.js";
import { renderQueue } from "./queue.js";
import { LISTS, config, providePage, state } from "./state.js";

// Submissions per page. The first is small: a laptop's window holds two cards, and fifty cards
// take the browser longer to build than the server takes to send them.
const FIRST_PAGE = 12;
const PAGE = 50;
const MAX_PAGE = 200; // the server's limit for one request
const BACKLOG_MS = 1000; // while a drop is read, how often the banner asks how far it has got

// The open tab's table, for the tabs that are not story lists.
const TAB_TABLES = {
  audit: { path: "/api/admin/audit", render: (data) => renderAudit(data.entries) },
  screens: { path: "/api/admin/screens", render: (data) => renderScreens(data.screens) },
  users: { path: "/api/admin/users", render: (data) => renderUsers(data.users) },
};

const background = (path) => api("GET", path, undefined, true);

let backlogTimer = 0;

/** A big drop takes a while: say how far the server has got, from /healthz's backlog, and
    look again until it is done (the last story's event may come before the backlog empties). */
async function showBacklog() {
  clearTimeout(backlogTimer);
  const banner = document.getElementById("ingesting");
  const health = await fetch("/healthz").then((r) => r.json());
  const backlog = health.ingesting;
  banner.hidden = !backlog;
  if (backlog) {
    banner.textContent = `Reading new stories: ${backlog.done} of ${backlog.total}…`;
    backlogTimer = setTimeout(() => showBacklog().catch(() => {}), BACKLOG_MS);
  }
}

function listUrl(name, limit, after) {
  const cursor = after ? `&after=${encodeURIComponent(after)}` : "";
  return `/api/admin/submissions?${LISTS[name].query}&limit=${limit}${cursor}`;
}

/** Fetch a list again as far as it was loaded: one request for up to 200, then page by page.
    A 304 on the first request means nothing at all has changed. */
async function reloadList(name) {
  const list = state.lists[name];
  const wanted = Math.max(list.items.length, FIRST_PAGE);
  const first = await fetchIfChanged(listUrl(name, Math.min(wanted, MAX_PAGE)), list.etag);
  if (!first) return;
  let { submissions: items, next } = first.data;
  while (next && items.length < wanted) {
    const more = await background(listUrl(name, MAX_PAGE, next));
    items = items.concat(more.submissions);
    next = more.next;
  }
  Object.assign(list, { items, next, etag: first.etag });
}

async function reloadCounts() {
  const fresh = await fetchIfChanged("/api/admin/counts", state.countsEtag);
  if (fresh) [state.counts, state.countsEtag] = [fresh.data, fresh.etag];
}

async function fetchAndRender() {
  try {
    showBacklog().catch(() => {}); // /healthz answers 503 with the same body when degraded
    const table = TAB_TABLES[state.tab];
    const list = LISTS[state.tab] ? reloadList(state.tab) : null;
    const [, , data] = await Promise.all([reloadCounts(), list, table && background(table.path)]);
    renderQueue();
    if (table) table.render(data);
    refreshTimes();
    document.getElementById("offline").hidden = true;
  } catch (err) {
    if (err.status !== 401) document.getElementById("offline").hidden = false;
  }
}

let running = null;
let again = false;

/** Fetch what the page shows again. A call while one is under way runs once more after it:
    the change that called may have come after that one's answers. */
function refresh() {
  if (running) {
    again = true;
    return running;
  }
  running = fetchAndRender().finally(() => {
    running = null;
    if (again) {
      again = false;
      refresh();
    }
  });
  return running;
}

/** The next page of the list `name`, after what is loaded. */
async function loadMore(name) {
  const list = state.lists[name];
  if (!list.next || list.loading) return;
  list.loading = true;
  try {
    await running;
    const page = await background(listUrl(name, PAGE, list.next));
    const known = new Set(list.items.map((s) => s.id));
    list.items.push(...page.submissions.filter((s) => !known.has(s.id)));
    list.next = page.next;
    renderQueue();
  } catch (err) {
    document.getElementById("offline").hidden = err.status === 401;
  } finally {
    list.loading = false;
  }
}

/** "Show more" loads the next page when clicked, or when it scrolls near the window. */
function setUpMore() {
  const near = new IntersectionObserver(
    (entries) => {
      for (const e of entries) if (e.isIntersecting) loadMore(e.target.dataset.more);
    },
    { rootMargin: "400px" },
  );
  for (const button of document.querySelectorAll("[data-more]")) {
    button.addEventListener("click", () => loadMore(button.dataset.more));
    near.observe(button);
  }
}

// ---- live updates ----------------------------------------------------------------------------
let live = false; // the event stream is open: no polling

function listen() {
  const source = new EventSource("/api/admin/events");
  source.addEventListener("open", () => {
    live = true;
  });
  source.addEventListener("changed", () => refresh());
  source.addEventListener("error", () => {
    live = false; // the browser reconnects by itself, unless the server refused (CLOSED)
    if (source.readyState === EventSource.CLOSED) setTimeout(listen, config.poll_ms);
  });
}

// ---- tabs (WAI-ARIA tabs pattern: arrow keys move between tabs) -------------------------------
// Each tab is a link to its own address (#pending, #approved…), so a click counts even if it
// comes before this module has run. The address says which tab is shown: the page shows the tab
// it names when it starts, and again whenever it changes (a click, the arrow keys, Back).
const tabs = [...document.querySelectorAll('[role="tab"]')];

function showTab(tab) {
  state.tab = tab.dataset.tab;
  for (const t of tabs) {
    const selected = t === tab;
    t.setAttribute("aria-selected", String(selected));
    t.tabIndex = selected ? 0 : -1;
    document.getElementById(t.getAttribute("aria-controls")).hidden = !selected;
  }
  tab.scrollIntoView({ block: "nearest", inline: "nearest" });
  if (location.hash !== tab.hash) history.replaceState(null, "", tab.hash);
  refresh();
}

const tabInAddress = () => tabs.find((t) => t.hash === location.hash);

function setUpTabs() {
  // An address naming no tab (the "Skip to content" link's #main) leaves the tab as it is.
  window.addEventListener("hashchange", () => {
    const tab = tabInAddress();
    if (tab) showTab(tab);
  });
  for (const tab of tabs) {
    tab.addEventListener("keydown", (event) => {
      if (event.key === " ") {
        event.preventDefault(); // a link would scroll the page; a tab, like a button, is pressed
        tab.click();
        return;
      }
      const i = tabs.indexOf(tab);
      const targets = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 };
      const next = targets[event.key];
      if (next === undefined) return;
      event.preventDefault();
      const target = tabs[(next + tabs.length) % tabs.length];
      target.focus();
      location.replace(target.href); // stepping along the tabs leaves no trail for Back
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
setUpMore();
setUpPreviewScreen();
setUpSignOut();
showTab(tabInAddress() || tabs[0]);
listen();
// Without the event stream, ask every `poll_ms`; the Screens tab too (a heartbeat that stops
// is no change in the library, so no event says a screen went silent).
setInterval(() => {
  if (!document.hidden && (!live || state.tab === "screens")) refresh();
}, config.poll_ms);
document.addEventListener("visibilitychange", () => {
  if (!document.hidden) refresh();
});
