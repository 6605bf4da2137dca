/* The admin page's tiny DOM library: build elements, keep keyed lists up to date without
   disturbing what the moderator is busy with, and show times relative to now. */

/** An element with attributes (`class`, `text` and `on…` listeners are special) and children. */
export function h(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false || child === "") continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// ---- times, relative to now ---------------------------------------------------------------------
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const TIME_UNITS = [
  ["day", 86400],
  ["hour", 3600],
  ["minute", 60],
];

function ago(iso) {
  const seconds = (Date.parse(iso) - Date.now()) / 1000;
  for (const [unit, size] of TIME_UNITS) {
    if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
  }
  return "just now";
}

/** "5 minutes ago", with the full date and time as a tooltip; a dash when there is no time. */
export function when(iso) {
  if (!iso) return h("span", { text: "—" });
  return h("time", { datetime: iso, title: new Date(iso).toLocaleString(), text: ago(iso) });
}

/** Times say "ago", so they go stale: update them in place (their cards are not rebuilt). */
export function refreshTimes() {
  for (const t of document.querySelectorAll("time[datetime]")) t.textContent = ago(t.dateTime);
}

// ---- keyed lists: keep what did not change, and what the moderator is busy with --------------
let pendingFocus = null; // { key, focus }: what to focus once the lists are up to date

/** Once the lists are up to date, focus the `data-focus` control of the item `key`. */
export function focusLater(key, focus) {
  pendingFocus = { key: String(key), focus };
}

export function restoreFocus() {
  if (!pendingFocus) return;
  const { key, focus } = pendingFocus;
  pendingFocus = null;
  const target = document.querySelector(`[data-key="${key}"] [data-focus="${focus}"]`);
  if (target) target.focus();
}

function isBusy(node) {
  const active = document.activeElement;
  const typing = node.contains(active) && active.matches("input, textarea, select");
  return typing || node.querySelector("form[data-dirty]") !== null;
}

/** A rebuilt node keeps its open sections and the focused control. */
function keepOpen(old, fresh) {
  for (const d of old.querySelectorAll("details[open][data-part]")) {
    const twin = fresh.querySelector(`details[data-part="${d.dataset.part}"]`);
    if (twin) twin.open = true;
  }
  const active = document.activeElement;
  if (old.contains(active) && active.dataset.focus) {
    focusLater(old.dataset.key, active.dataset.focus);
  }
}

/**
 * Make the children of `list` one node per item, in order. A node is rebuilt only when its
 * item's `fingerprint` changed and the moderator is not busy in it; `discard` is called for
 * each node that leaves the page.
 */
export function reconcile(list, items, { keyOf, fingerprint, build, discard }) {
  const old = new Map([...list.children].map((n) => [n.dataset.key, n]));
  const nodes = items.map((item) => {
    const key = String(keyOf(item));
    const print = fingerprint(item);
    const node = old.get(key);
    old.delete(key);
    if (node && (node.dataset.fingerprint === print || isBusy(node))) return node;
    const fresh = build(item);
    fresh.dataset.key = key;
    fresh.dataset.fingerprint = print;
    if (node) {
      keepOpen(node, fresh);
      discard(node);
      node.replaceWith(fresh);
    }
    return fresh;
  });
  for (const gone of old.values()) {
    discard(gone);
    gone.remove();
  }
  nodes.forEach((node, i) => {
    if (list.children[i] !== node) list.insertBefore(node, list.children[i] || null);
  });
}
