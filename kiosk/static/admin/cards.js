/* A pending story's card, and the pieces the other lists share: the slide preview, subtitle,
   problems, and for a new version of a story on the screens, what changes. */
import { h, when } from "./dom.js";
import { focalPicker } from "./focal.js";
import { decide, editor } from "./forms.js";
import { config, state } from "./state.js";

// What a new version is compared on: every story field a person reads (kiosk.model, served in
// the page's config), leaving out the photo file's name and what the server works out itself.
const DIFF_FIELDS = config.fields.filter((f) => !["photo", "flag", "extra"].includes(f.kind));

// A preview is the screen's full-size page, scaled to the width of its box.
const scaler = new ResizeObserver((entries) => {
  for (const entry of entries) {
    const frame = entry.target.querySelector("iframe");
    if (frame) entry.target.style.setProperty("--scale", entry.contentRect.width / frame.width);
  }
});

/** A card leaving the page stops being watched for size changes. */
export function discardCard(node) {
  for (const box of node.querySelectorAll(".preview")) scaler.unobserve(box);
}

function previewScreen() {
  return config.screens.find((s) => s.name === state.screen) || config.screens[0];
}

/** The slide exactly as the screen's theme draws it: /display in preview mode, scaled down. */
function preview(sub) {
  const screen = previewScreen();
  const portrait = screen.orientation === "portrait";
  const frame = h("iframe", {
    src: displayUrl(sub, screen),
    title: `Preview: ${sub.name} on the screen “${screen.name}”`,
    width: portrait ? 1080 : 1920,
    height: portrait ? 1920 : 1080,
    tabindex: "-1",
    loading: "lazy",
  });
  const box = h("div", { class: portrait ? "preview portrait" : "preview" }, frame);
  const notes = h("div", { class: "page-notes" });
  scaler.observe(box);
  frame.addEventListener("load", () => {
    countPages(frame, notes).then((count) => {
      notePages(notes, sub, screen, count);
      for (const other of config.screens) {
        if (other !== screen) measureOn(sub, other).then((n) => notePages(notes, sub, other, n));
      }
    });
  });
  return [box, notes];
}

/** The preview runs a whole player (page, theme, fonts, the full-size photo): it is drawn only
    when the moderator opens it, and stays open when the card is redrawn. */
function previewOnDemand(sub) {
  const text = `Preview on the screen “${previewScreen().name}”`;
  const details = h(
    "details",
    { class: "on-demand", "data-part": "preview" },
    h("summary", { text, "data-focus": "preview" }),
  );
  details.addEventListener("toggle", () => {
    if (details.open && !details.querySelector(".preview")) details.append(...preview(sub));
  });
  return details;
}

function displayUrl(sub, screen) {
  return `/display?screen=${encodeURIComponent(screen.name)}&preview=${sub.id}`;
}

const PAGES_WAIT_MS = 15000; // the player shows the slide once its photo and fonts are in
const PAGES_POLL_MS = 200;

/** On how many pages the player in `frame` plays the story (window.kiosk.page, as the wall
    counts them); null when it shows nothing in time or `alive` is no longer on the page. */
function countPages(frame, alive) {
  const deadline = Date.now() + PAGES_WAIT_MS;
  return new Promise((resolve) => {
    const look = () => {
      const page = frame.contentWindow?.kiosk?.page;
      if (page) return resolve(page.count);
      if (!alive.isConnected || Date.now() > deadline) return resolve(null);
      setTimeout(look, PAGES_POLL_MS);
    };
    look();
  });
}

// Page counts on the screens not previewed, by story revision and text: each is measured once,
// one at a time in a hidden full-size frame, so a long list does not load dozens of players.
const counted = new Map();
let measuring = Promise.resolve();

function measureOn(sub, screen) {
  const text = JSON.stringify(DIFF_FIELDS.map(({ name }) => sub[name]));
  const key = `${sub.id}/${sub.revision}/${screen.name}/${text}`;
  if (!counted.has(key)) {
    measuring = measuring.then(() => measureHidden(sub, screen));
    counted.set(key, measuring);
    measuring.then((n) => n === null && counted.delete(key)); // try again on the next redraw
  }
  return counted.get(key);
}

function measureHidden(sub, screen) {
  const portrait = screen.orientation === "portrait";
  const frame = h("iframe", {
    src: displayUrl(sub, screen),
    class: "measure",
    width: portrait ? 1080 : 1920,
    height: portrait ? 1920 : 1080,
    tabindex: "-1",
    "aria-hidden": "true",
  });
  document.body.append(frame);
  return countPages(frame, frame).finally(() => frame.remove());
}

/** Under the preview, when the story does not fit `screen` at once: on how many pages it
    plays there; one line per screen, in the order of the screen list. */
function notePages(notes, sub, screen, count) {
  if (!notes.isConnected || count === null) return; // the card was redrawn: it measures again
  notes.querySelector(`[data-screen="${CSS.escape(screen.name)}"]`)?.remove();
  if (count < 2) return;
  const shape = screen.orientation === "portrait" ? "upright" : "landscape";
  const text = `Needs ${count} pages on ${screen.name} (${shape})`;
  const note = h("p", { class: "pages badge warn", text, "data-screen": screen.name });
  const rank = (name) => config.screens.findIndex((s) => s.name === name);
  const after = [...notes.children].find((n) => rank(n.dataset.screen) > rank(screen.name));
  notes.insertBefore(note, after || null);
}

export function subtitle(rev) {
  const parts = [rev.role, rev.organization, rev.location].filter(Boolean);
  return parts.length ? h("p", { class: "subtitle", text: parts.join(" · ") }) : null;
}

function badges(sub) {
  const list = [];
  if (sub.on_screen && sub.status === "pending") {
    list.push(["changed", "Changed version of a story on the screens"]);
  }
  if (resubmitted(sub)) list.push(["changed", "Back after a rejection"]);
  if (sub.needs_story) list.push(["warn", "Photo only: needs a story"]);
  if (!sub.consent) {
    list.push([config.require_consent ? "bad" : "warn", "No “consent: yes” in the file"]);
  }
  if (sub.consent_notice) list.push(["warn consent-ends", sub.consent_notice]);
  if (sub.pinned) list.push(["info", "Pinned"]);
  if (!list.length) return null;
  const badge = ([kind, text]) => h("span", { class: `badge ${kind}`, text });
  return h("p", { class: "badges" }, list.map(badge));
}

function resubmitted(sub) {
  return Boolean(sub.previous_rejection) && sub.status === "pending";
}

/** For a story back after a rejection: who turned it down, when, and why, beside the new one. */
function earlierRejection(sub) {
  if (!resubmitted(sub)) return null;
  const { by, at, reason } = sub.previous_rejection;
  return h(
    "p",
    { class: "earlier-rejection", "data-part": "earlier-rejection" },
    `Rejected before${by ? ` by ${by}` : ""} `,
    when(at),
    reason ? [": ", h("q", { text: reason })] : null,
  );
}

/** The story's file or files, e.g. "ana.md + ana.jpg". */
export function storyFiles(sub) {
  const paths = [...new Set([sub.text_path, sub.photo_path].filter(Boolean))];
  return { count: paths.length, text: paths.length ? paths.join(" + ") : sub.source };
}

function facts(sub) {
  const { count, text } = storyFiles(sub);
  return h(
    "dl",
    { class: "facts" },
    h("dt", { text: count > 1 ? "Files" : "File" }),
    h("dd", {}, h("code", { text })),
    h("dt", { text: "Dropped by" }),
    h("dd", { text: sub.owner || "unknown" }),
    h("dt", { text: "Arrived" }),
    h("dd", {}, when(sub.submitted_at)),
  );
}

export function problemList(sub) {
  if (!sub.problems || !sub.problems.length) return null;
  return h("ul", { class: "problems" }, sub.problems.map((p) => h("li", { text: p })));
}

function storyText(sub) {
  if (!sub.body) return null;
  return h(
    "details",
    { "data-part": "story" },
    h("summary", { text: "Story text" }),
    h("p", { class: "body", text: sub.body }),
  );
}

/** A field's value as the diff shows it. */
function fieldText(value) {
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return value.join(", ");
  if (typeof value === "boolean") return value ? "yes" : "no";
  return String(value);
}

function diffRow(label, before, after, cellClass = {}) {
  return h(
    "tr",
    {},
    h("th", { scope: "row", text: label }),
    h("td", { class: cellClass.before }, before),
    h("td", { class: cellClass.after }, after),
  );
}

function diffRows(old, sub) {
  const thumb = (rev) =>
    rev.thumbnail
      ? h("img", { src: rev.thumbnail, alt: "", class: "mini", loading: "lazy" })
      : "no photo";
  const rows = old.image !== sub.image ? [diffRow("Photo", thumb(old), thumb(sub))] : [];
  for (const { name: key, label } of DIFF_FIELDS) {
    const before = fieldText(old[key]);
    const after = fieldText(sub[key]);
    if (before === after) continue;
    rows.push(diffRow(label, before || "—", after || "—", { before: "old", after: "new" }));
  }
  return rows;
}

/** For a new version of a story on the screens: what would change, side by side. */
function changes(sub) {
  const rows = diffRows(sub.on_screen, sub);
  const headings = ["", "On the screens now", "New version"];
  const head = h("tr", {}, headings.map((text) => h("th", { scope: "col", text })));
  const table = rows.length
    ? h("table", { class: "diff" }, h("thead", {}, head), h("tbody", {}, rows))
    : h("p", { text: "Nothing a screen shows has changed (only spacing or formatting)." });
  return h("section", { class: "changes" }, h("h4", { text: "What changes" }), table);
}

export function pendingCard(sub) {
  return h(
    "article",
    { class: "card", "aria-labelledby": `title-${sub.id}` },
    h("div", { class: "visual" }, previewOnDemand(sub), focalPicker(sub)),
    h(
      "div",
      { class: "info" },
      h("h3", { id: `title-${sub.id}`, text: sub.name || "(no name)" }),
      subtitle(sub),
      badges(sub),
      earlierRejection(sub),
      sub.quote ? h("blockquote", { text: sub.quote }) : null,
      facts(sub),
      problemList(sub),
      sub.on_screen ? changes(sub) : null,
      storyText(sub),
      decide(sub),
      editor(sub, null),
    ),
  );
}
