/* The four story lists: pending cards, the stories on the screens in playing order (move,
   pin, retire), rejected and problem rows; with the counts on the tabs. Each list holds the
   pages loaded so far; "Show more" (or scrolling near it) loads the next. */
import { api } from "./api.js";
import { focusLater, h, reconcile, restoreFocus, when } from "./dom.js";
import { discardCard, pendingCard, problemList, storyFiles, subtitle } from "./cards.js";
import { focalPicker } from "./focal.js";
import { decide, editor } from "./forms.js";
import { LISTS, changeSubmission, flash, refresh, state } from "./state.js";

const RETIRE_CONFIRM_MS = 5000; // "Really take it off every screen?" waits this long for a click

function retireButton(sub) {
  const button = h("button", { type: "button", class: "danger", "data-focus": "retire" }, "Retire");
  let armed = false;
  button.addEventListener("click", () => {
    if (armed) {
      const done = `Retired: ${sub.name} is off the screens.`;
      changeSubmission(sub, "POST", "/retire", undefined, done);
      return;
    }
    armed = true;
    button.textContent = "Really take it off every screen?";
    setTimeout(() => {
      armed = false;
      button.textContent = "Retire";
    }, RETIRE_CONFIRM_MS);
  });
  return button;
}

/** Swap places with a neighbour: two PATCHes of `position`. */
async function swap(sub, other, direction) {
  try {
    await api("PATCH", `/api/admin/submissions/${sub.id}`, { position: other.position });
    await api("PATCH", `/api/admin/submissions/${other.id}`, { position: sub.position });
    focusLater(sub.id, direction);
    flash(`Moved ${sub.name} ${direction}.`);
  } catch (err) {
    flash(err.message, true);
  }
  refresh();
}

function thumbnail(rev) {
  return rev.thumbnail
    ? h("img", { class: "thumb", src: rev.thumbnail, alt: "", loading: "lazy" })
    : h("div", { class: "thumb" });
}

/** ▲ and ▼: move the story within its group (pinned, or not). */
function orderButtons(sub, name, group, index) {
  const button = (direction, arrow, other) =>
    h(
      "button",
      {
        type: "button",
        "data-focus": direction,
        "aria-label": `Move ${name} ${direction}`,
        disabled: !other,
        onclick: () => swap(sub, other, direction),
      },
      arrow,
    );
  const up = button("up", "▲", group[index - 1]);
  const down = button("down", "▼", group[index + 1]);
  return h("div", { class: "order", role: "group", "aria-label": "Order" }, up, down);
}

function pinBox(sub, name) {
  const pin = h("input", { type: "checkbox", checked: sub.pinned, "data-focus": "pin" });
  pin.addEventListener("change", () => {
    const done = pin.checked ? `Pinned ${name}.` : `Unpinned ${name}.`;
    changeSubmission(sub, "PATCH", "", { pinned: pin.checked }, done);
  });
  return h("label", { class: "check" }, pin, " Pinned");
}

function showDates(rev) {
  if (!rev.start && !rev.end) return null;
  const text = `Shown ${rev.start ? `from ${rev.start}` : ""} ${rev.end ? `until ${rev.end}` : ""}`;
  return h("p", { class: "muted", text });
}

/** Consent ends within 30 days: the moderator can remind the person who dropped the file. */
function consentFlag(sub) {
  if (!sub.consent_notice) return null;
  const text = sub.consent_notice;
  return h("p", { class: "badges" }, h("span", { class: "badge warn consent-ends", text }));
}

/** A newer version waits for a decision: say where it is (the row shows what plays). */
function newerVersionBadge(sub) {
  const where = sub.status === "problem" ? "Problems" : "Pending";
  const text = `A newer version is in ${where}`;
  return h("p", { class: "badges" }, h("span", { class: "badge changed", text }));
}

/** A story on the screens: the revision that plays, with order, pin and retire. */
function playingRow(sub, group, index) {
  const rev = sub.on_screen || sub;
  const decision = rev.decision ? `approved by ${rev.decision.by}` : "";
  return h(
    "article",
    { class: "row-card", "aria-labelledby": `playing-${sub.id}` },
    thumbnail(rev),
    h(
      "div",
      { class: "info" },
      h("h3", { id: `playing-${sub.id}`, text: rev.name }),
      subtitle(rev),
      h(
        "p",
        { class: "muted" },
        h("code", { text: sub.source }),
        decision ? ` · ${decision} ` : " ",
        rev.decision ? when(rev.decision.at) : null,
      ),
      showDates(rev),
      h("div", { class: "plays", "data-plays": "" }),
      consentFlag(sub),
      sub.status !== "approved" ? newerVersionBadge(sub) : editor(sub, focalPicker(sub)),
    ),
    h(
      "div",
      { class: "controls" },
      orderButtons(sub, rev.name, group, index),
      pinBox(sub, rev.name),
      retireButton(sub),
    ),
  );
}

const PERIODS = [
  ["week", "This week"],
  ["month", "This month"],
  ["total", "In all"],
];

function onTheWall(hours) {
  const seconds = Math.round(hours * 3600);
  if (seconds < 60) return `${seconds} s`;
  return hours < 1 ? `${Math.round(seconds / 60)} min` : `${hours.toFixed(1)} h`;
}

/** Proof of play, from the screens' reports: plays, screens and time on the wall. */
function playsTable(sub) {
  const p = sub.plays;
  if (!p) return h("p", { class: "muted", text: "Not counted on a screen yet." });
  const rows = [
    ["Plays", (x) => String(x.plays)],
    ["Screens", (x) => String(x.screens)],
    ["On the wall", (x) => onTheWall(x.hours)],
  ];
  const head = h(
    "tr",
    {},
    h("td"),
    PERIODS.map(([, label]) => h("th", { scope: "col", text: label })),
  );
  const body = rows.map(([label, value]) =>
    h(
      "tr",
      {},
      h("th", { scope: "row", text: label }),
      PERIODS.map(([key]) => h("td", { text: value(p[key]) })),
    ),
  );
  const caption = h("caption", { text: "Shown on the screens" });
  return h("table", { class: "plays-table" }, caption, h("thead", {}, head), h("tbody", {}, body));
}

/** The counts move with every heartbeat: they are redrawn in place, not the whole row (which
    may hold a form the moderator is filling in). */
function showPlays(playing) {
  const list = document.querySelector('[data-list="approved"]');
  for (const sub of playing) {
    const box = list.querySelector(`[data-key="${sub.id}"] [data-plays]`);
    const print = JSON.stringify(sub.plays);
    if (!box || box.dataset.print === print) continue;
    box.dataset.print = print;
    box.replaceChildren(playsTable(sub));
  }
}

function rejectedRow(sub) {
  const d = sub.decision || {};
  return h(
    "article",
    { class: "row-card", "aria-labelledby": `title-${sub.id}` },
    thumbnail(sub),
    h(
      "div",
      { class: "info" },
      h("h3", { id: `title-${sub.id}`, text: sub.name }),
      subtitle(sub),
      h("p", {}, h("strong", { text: "Reason: " }), d.reason || "—"),
      h(
        "p",
        { class: "muted" },
        h("code", { text: sub.source }),
        ` · rejected by ${d.by || "?"} `,
        when(d.at),
      ),
    ),
    h("div", { class: "controls" }, decide(sub)),
  );
}

function problemRow(sub) {
  return h(
    "article",
    { class: "row-card problem", "aria-labelledby": `title-${sub.id}` },
    h(
      "div",
      { class: "info" },
      h("h3", { id: `title-${sub.id}` }, h("code", { text: storyFiles(sub).text })),
      sub.name ? h("p", { class: "subtitle", text: sub.name }) : null,
      problemList(sub),
      h(
        "p",
        { class: "muted" },
        "Arrived ",
        when(sub.submitted_at),
        sub.owner ? ` · dropped by ${sub.owner}` : "",
        sub.on_screen ? " · the earlier version stays on the screens" : "",
      ),
    ),
  );
}

/** Everything a card shows except relative times (those are updated in place). */
function fingerprint(sub) {
  return JSON.stringify([sub, state.screen]);
}

function showList(name, items, fingerprintOf, build) {
  const list = document.querySelector(`[data-list="${name}"]`);
  const keyOf = (sub) => sub.id;
  reconcile(list, items, { keyOf, fingerprint: fingerprintOf, build, discard: discardCard });
  const empty = document.querySelector(`[data-empty="${name}"]`);
  if (empty) empty.hidden = items.length > 0;
}

function showPlaying(playing) {
  // Pinned stories play first, so each group is ordered on its own.
  const groups = [playing.filter((s) => s.pinned), playing.filter((s) => !s.pinned)];
  const placed = new Map(groups.flatMap((g) => g.map((s, i) => [s.id, [g, i]])));
  const printOf = (s) =>
    JSON.stringify([{ ...s, plays: null }, placed.get(s.id)[1], placed.get(s.id)[0].length]);
  showList("approved", playing, printOf, (s) => playingRow(s, ...placed.get(s.id)));
  showPlays(playing);
}

function showCounts(counts) {
  for (const key of Object.keys(LISTS)) {
    const n = counts[key] || 0;
    const badge = document.querySelector(`[data-count="${key}"]`);
    badge.textContent = n ? String(n) : "";
    badge.hidden = !n;
  }
}

/** "Show more" under a list with pages still on the server. */
function showMore(name, shown) {
  const button = document.querySelector(`[data-more="${name}"]`);
  button.hidden = !state.lists[name].next;
  const total = Math.max(state.counts[name] || 0, shown);
  button.textContent = `Show more (${shown} of ${total} shown)`;
}

/** The loaded submissions of a list that still belong in it. */
function loaded(name) {
  return state.lists[name].items.filter(LISTS[name].keep);
}

/** Draw the four lists from `state.lists`, and the counts on the tabs. */
export function renderQueue() {
  showList("pending", loaded("pending"), fingerprint, pendingCard);
  showPlaying(loaded("approved"));
  showList("rejected", loaded("rejected"), fingerprint, rejectedRow);
  showList("problem", loaded("problem"), fingerprint, problemRow);
  for (const name of Object.keys(LISTS)) showMore(name, loaded(name).length);
  showCounts(state.counts);
  const waiting = state.counts.pending || 0;
  document.title = `${waiting ? `(${waiting}) ` : ""}Moderation · Hallway Kiosk`;
  restoreFocus();
}
