/* Hallway Kiosk admin page and sign-in page: plain JavaScript, no build step.
 *
 * Everything shown comes from the JSON API (/api/admin/...), polled every few seconds, and goes
 * into the page through textContent only. A card is rebuilt only when its data changed, and never
 * while the moderator is typing in it.
 */
"use strict";

(() => {
  const POLL_MS = 3000;
  const configNode = document.getElementById("admin-config");
  const config = configNode ? JSON.parse(configNode.textContent) : {};

  // ---- helpers ------------------------------------------------------------------------------
  function h(tag, props, ...children) {
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

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  /** The server's `detail` as one sentence (FastAPI sends a list for field errors). */
  function explain(data, status) {
    const detail = data && data.detail;
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail
        .map((d) => {
          const field = (d.loc || []).filter((p) => p !== "body" && p !== "query").join(" ");
          const msg = String(d.msg || "").replace(/^Value error, /, "");
          return field ? `${field}: ${msg}` : msg;
        })
        .join("; ");
    }
    return `The server answered ${status}.`;
  }

  async function api(method, path, body, background = false) {
    const headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRF-Token"] = config.csrf;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    // Polling is not activity: it must not keep an unattended session alive.
    if (background) headers["X-Kiosk-Background"] = "1";
    const response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 401) {
      location.assign("/admin/login");
      throw new ApiError(401, "Your session has ended: sign in again.");
    }
    const data = response.status === 204 ? {} : await response.json().catch(() => ({}));
    if (!response.ok) throw new ApiError(response.status, explain(data, response.status));
    return data;
  }

  const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  function ago(iso) {
    const seconds = (Date.parse(iso) - Date.now()) / 1000;
    const units = [
      ["day", 86400],
      ["hour", 3600],
      ["minute", 60],
    ];
    for (const [unit, size] of units) {
      if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
    }
    return "just now";
  }
  function when(iso) {
    if (!iso) return h("span", { text: "—" });
    return h("time", { datetime: iso, title: new Date(iso).toLocaleString(), text: ago(iso) });
  }
  function refreshTimes() {
    for (const t of document.querySelectorAll("time[datetime]")) t.textContent = ago(t.dateTime);
  }
  function shown(value) {
    if (value === null || value === undefined) return "";
    if (Array.isArray(value)) return value.join(", ");
    if (typeof value === "boolean") return value ? "yes" : "no";
    return String(value);
  }

  // ---- sign-in page ---------------------------------------------------------------------------
  const loginForm = document.getElementById("login");
  if (loginForm) {
    const error = document.getElementById("login-error");
    loginForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = loginForm.querySelector("button");
      button.disabled = true;
      error.hidden = true;
      try {
        const response = await fetch("/api/admin/login", {
          method: "POST",
          headers: { "Content-Type": "application/json", Accept: "application/json" },
          body: JSON.stringify({
            username: loginForm.elements.namedItem("username").value,
            password: loginForm.elements.namedItem("password").value,
          }),
        });
        if (response.ok) {
          location.assign("/admin");
          return;
        }
        const data = await response.json().catch(() => ({}));
        error.textContent =
          response.status === 401 ? "Wrong user name or password." : explain(data, response.status);
      } catch {
        error.textContent = "The kiosk server did not answer. Check the network and try again.";
      }
      error.hidden = false;
      button.disabled = false;
      loginForm.elements.namedItem("password").select();
    });
    return;
  }
  if (!configNode) return;

  // ---- state ----------------------------------------------------------------------------------
  const state = {
    subs: [],
    tab: "pending",
    screen: config.screens[0].name,
    refocus: null,
  };
  const flashNode = document.getElementById("flash");
  const failureNode = document.getElementById("failure");
  let flashTimer = 0;

  function flash(message, failed = false) {
    clearTimeout(flashTimer);
    flashNode.textContent = failed ? "" : message;
    failureNode.textContent = failed ? message : "";
    flashTimer = setTimeout(() => {
      flashNode.textContent = "";
      failureNode.textContent = "";
    }, failed ? 15000 : 6000);
  }

  function replaceSub(fresh) {
    const i = state.subs.findIndex((s) => s.id === fresh.id);
    if (i >= 0) state.subs[i] = fresh;
    else state.subs.push(fresh);
  }

  /** A call that changes a submission: show the answer, or say what went wrong. */
  async function act(sub, method, suffix, body, done) {
    try {
      replaceSub(await api(method, `/api/admin/submissions/${sub.id}${suffix}`, body));
      flash(done);
      render();
      return true;
    } catch (err) {
      flash(err.message, true);
      if (err.status === 409 || err.status === 404) refresh();
      return false;
    }
  }

  // ---- keyed lists: keep what did not change, and what the moderator is busy with ------------
  function isBusy(node) {
    const active = document.activeElement;
    const typing = node.contains(active) && active.matches("input, textarea, select");
    return typing || node.querySelector("form[data-dirty]") !== null;
  }

  function reconcile(list, items, key, stamp, build) {
    const old = new Map([...list.children].map((n) => [n.dataset.key, n]));
    const nodes = items.map((item) => {
      const k = String(key(item));
      const s = stamp(item);
      let node = old.get(k);
      old.delete(k);
      if (node && (node.dataset.stamp === s || isBusy(node))) return node;
      const fresh = build(item);
      fresh.dataset.key = k;
      fresh.dataset.stamp = s;
      if (node) {
        keepOpen(node, fresh);
        release(node);
        node.replaceWith(fresh);
      }
      return fresh;
    });
    for (const gone of old.values()) {
      release(gone);
      gone.remove();
    }
    nodes.forEach((node, i) => {
      if (list.children[i] !== node) list.insertBefore(node, list.children[i] || null);
    });
    const empty = document.querySelector(`[data-empty="${list.dataset.list}"]`);
    if (empty) empty.hidden = items.length > 0;
  }

  /** A card leaving the page stops being watched for size changes. */
  function release(node) {
    for (const box of node.querySelectorAll(".preview")) scaler.unobserve(box);
  }

  /** A rebuilt card keeps its open sections and the focused control. */
  function keepOpen(old, fresh) {
    for (const d of old.querySelectorAll("details[open][data-part]")) {
      const twin = fresh.querySelector(`details[data-part="${d.dataset.part}"]`);
      if (twin) twin.open = true;
    }
    const active = document.activeElement;
    if (old.contains(active) && active.dataset.focus) {
      state.refocus = { key: old.dataset.key, focus: active.dataset.focus };
    }
  }

  function applyRefocus() {
    if (!state.refocus) return;
    const { key, focus } = state.refocus;
    state.refocus = null;
    const target = document.querySelector(`[data-key="${key}"] [data-focus="${focus}"]`);
    if (target) target.focus();
  }

  // ---- pieces of a card -------------------------------------------------------------------------
  function currentScreen() {
    return config.screens.find((s) => s.name === state.screen) || config.screens[0];
  }

  const scaler = new ResizeObserver((entries) => {
    for (const entry of entries) {
      const frame = entry.target.querySelector("iframe");
      if (frame) entry.target.style.setProperty("--scale", entry.contentRect.width / frame.width);
    }
  });

  /** The slide exactly as the screen's theme draws it: /display in preview mode, scaled down. */
  function preview(sub) {
    const screen = currentScreen();
    const portrait = screen.orientation === "portrait";
    const frame = h("iframe", {
      src: `/display?screen=${encodeURIComponent(screen.name)}&preview=${sub.id}`,
      title: `Preview: ${sub.name} on the screen “${screen.name}”`,
      width: portrait ? 1080 : 1920,
      height: portrait ? 1920 : 1080,
      tabindex: "-1",
      loading: "lazy",
    });
    const box = h("div", { class: portrait ? "preview portrait" : "preview" }, frame);
    scaler.observe(box);
    return box;
  }

  function focalPicker(sub) {
    if (!sub.thumbnail) return h("p", { class: "muted", text: "No photo yet." });
    let [x, y] = sub.focal;
    const img = h("img", {
      src: sub.thumbnail,
      alt: sub.photo_alt || `Photo of ${sub.name}`,
      draggable: "false",
    });
    const marker = h("span", { class: "marker", "aria-hidden": "true" });
    const pad = h(
      "div",
      {
        class: "focal",
        tabindex: "0",
        role: "group",
        "data-focus": "focal",
        "aria-label": `Focal point of the photo of ${sub.name}: click the face, or move it with the arrow keys`,
      },
      img,
      marker,
    );
    const place = () => {
      marker.style.left = `${x * 100}%`;
      marker.style.top = `${y * 100}%`;
      pad.title = `Kept in view: ${Math.round(x * 100)}% across, ${Math.round(y * 100)}% down`;
    };
    let timer = 0;
    const save = (delay) => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        const focal = [Math.round(x * 1000) / 1000, Math.round(y * 1000) / 1000];
        act(sub, "PATCH", "", { focal }, `Focal point of ${sub.name} saved.`);
      }, delay);
    };
    const clamp = (v) => Math.min(1, Math.max(0, v));
    pad.addEventListener("click", (event) => {
      const box = img.getBoundingClientRect();
      x = clamp((event.clientX - box.left) / box.width);
      y = clamp((event.clientY - box.top) / box.height);
      place();
      save(0);
    });
    pad.addEventListener("keydown", (event) => {
      const step = event.shiftKey ? 0.01 : 0.05;
      const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
      const move = moves[event.key];
      if (!move) return;
      event.preventDefault();
      x = clamp(x + move[0]);
      y = clamp(y + move[1]);
      place();
      save(600);
    });
    place();
    return h(
      "figure",
      { class: "photo" },
      pad,
      h("figcaption", { text: "Click the face: the slide keeps that spot in view when it crops." }),
    );
  }

  function subtitle(rev) {
    const parts = [rev.role, rev.organization, rev.location].filter(Boolean);
    return parts.length ? h("p", { class: "subtitle", text: parts.join(" · ") }) : null;
  }

  function badges(sub) {
    const list = [];
    if (sub.on_screen && sub.status === "pending") list.push(["changed", "Changed version of a story on the screens"]);
    if (sub.needs_story) list.push(["warn", "Photo only: needs a story"]);
    if (!sub.consent) {
      list.push([config.require_consent ? "bad" : "warn", "No “consent: yes” in the file"]);
    }
    if (sub.pinned) list.push(["info", "Pinned"]);
    return list.length ? h("p", { class: "badges" }, list.map(([k, t]) => h("span", { class: `badge ${k}`, text: t }))) : null;
  }

  function facts(sub) {
    const files = [...new Set([sub.text_path, sub.photo_path].filter(Boolean))];
    return h(
      "dl",
      { class: "facts" },
      h("dt", { text: files.length > 1 ? "Files" : "File" }),
      h("dd", {}, h("code", { text: files.length ? files.join(" + ") : sub.source })),
      h("dt", { text: "Dropped by" }),
      h("dd", { text: sub.owner || "unknown" }),
      h("dt", { text: "Arrived" }),
      h("dd", {}, when(sub.submitted_at)),
    );
  }

  function problemList(sub) {
    if (!sub.problems || !sub.problems.length) return null;
    return h("ul", { class: "problems" }, sub.problems.map((p) => h("li", { text: p })));
  }

  function storyText(sub) {
    if (!sub.body) return null;
    return h("details", { "data-part": "story" }, h("summary", { text: "Story text" }), h("p", { class: "body", text: sub.body }));
  }

  const DIFF_FIELDS = [
    ["name", "Name"],
    ["role", "Role"],
    ["organization", "Organization"],
    ["location", "Location"],
    ["quote", "Quote"],
    ["body", "Story"],
    ["photo_alt", "Photo description"],
    ["start", "Start"],
    ["end", "End"],
    ["tags", "Tags"],
    ["consent", "Consent"],
  ];

  /** For a new version of a story on the screens: what would change, side by side. */
  function changes(sub) {
    const old = sub.on_screen;
    const rows = [];
    if (old.image !== sub.image) {
      const thumb = (rev) => (rev.thumbnail ? h("img", { src: rev.thumbnail, alt: "", class: "mini" }) : "no photo");
      rows.push(h("tr", {}, h("th", { scope: "row", text: "Photo" }), h("td", {}, thumb(old)), h("td", {}, thumb(sub))));
    }
    for (const [key, label] of DIFF_FIELDS) {
      const before = shown(old[key]);
      const after = shown(sub[key]);
      if (before === after) continue;
      rows.push(
        h("tr", {}, h("th", { scope: "row", text: label }), h("td", { class: "old", text: before || "—" }), h("td", { class: "new", text: after || "—" })),
      );
    }
    const table = rows.length
      ? h(
          "table",
          { class: "diff" },
          h("thead", {}, h("tr", {}, h("th", { scope: "col", text: "" }), h("th", { scope: "col", text: "On the screens now" }), h("th", { scope: "col", text: "New version" }))),
          h("tbody", {}, rows),
        )
      : h("p", { text: "Nothing a screen shows has changed (only spacing or formatting)." });
    return h("section", { class: "changes" }, h("h4", { text: "What changes" }), table);
  }

  function decide(sub) {
    const blocked =
      sub.status === "problem"
        ? "Fix the problem in the file first."
        : config.require_consent && !sub.consent
          ? "Needs “consent: yes” in the file before it can be approved."
          : "";
    const why = blocked ? h("p", { class: "hint", id: `why-${sub.id}`, text: blocked }) : null;
    const approve = h(
      "button",
      {
        type: "button",
        class: "primary",
        "data-focus": "approve",
        disabled: Boolean(blocked),
        "aria-describedby": blocked ? `why-${sub.id}` : null,
        onclick: () => act(sub, "POST", "/approve", { revision: sub.revision }, `Approved: ${sub.name} is on the screens now.`),
      },
      sub.status === "rejected" ? "Approve anyway" : "Approve",
    );
    const reason = h("input", { id: `reason-${sub.id}`, name: "reason", autocomplete: "off", "data-focus": "reason", placeholder: "e.g. the photo is blurred: please send a sharper one" });
    const form = h(
      "form",
      { class: "reject" },
      h("label", { for: reason.id, text: "Reason for rejecting (the person who dropped the file sees it)" }),
      h("div", { class: "row" }, reason, h("button", { type: "submit", "data-focus": "reject" }, "Reject")),
    );
    trackDirty(form);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      delete form.dataset.dirty;
      if (!(await act(sub, "POST", "/reject", { reason: reason.value }, `Rejected: ${sub.name}.`))) form.dataset.dirty = "1";
    });
    return h("div", { class: "decide" }, h("div", { class: "row" }, approve), why, sub.status === "rejected" ? null : form);
  }

  function trackDirty(form) {
    form.addEventListener("input", () => {
      form.dataset.dirty = "1";
    });
  }

  const EDIT_FIELDS = [
    ["name", "Name"],
    ["role", "Role"],
    ["organization", "Organization"],
    ["location", "Location"],
    ["quote", "Quote"],
    ["photo_alt", "Photo description (for screen readers)"],
  ];

  /** Fix fields, dates, tags and the pin; only what changed is sent. */
  function editor(sub, withPhoto) {
    const id = (key) => `edit-${key}-${sub.id}`;
    const form = h("form", { class: "edit" });
    for (const [key, label] of EDIT_FIELDS) {
      form.append(h("label", { for: id(key), text: label }), h("input", { id: id(key), name: key, value: sub[key] || "", autocomplete: "off" }));
    }
    form.append(
      h(
        "div",
        { class: "dates" },
        h("div", {}, h("label", { for: id("start"), text: "Show from" }), h("input", { id: id("start"), name: "start", type: "date", value: (sub.start || "").slice(0, 10) })),
        h("div", {}, h("label", { for: id("end"), text: "Show until (including)" }), h("input", { id: id("end"), name: "end", type: "date", value: (sub.end || "").slice(0, 10) })),
      ),
      h("label", { for: id("tags"), text: "Tags (comma-separated; screens with tags show only matching stories)" }),
      h("input", { id: id("tags"), name: "tags", value: (sub.tags || []).join(", "), autocomplete: "off" }),
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "pinned", checked: sub.pinned }), " Pinned: plays before the others"),
      h("button", { type: "submit", "data-focus": "save" }, "Save changes"),
    );
    trackDirty(form);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const field = (name) => form.elements.namedItem(name);
      const body = {};
      for (const [key] of EDIT_FIELDS) if (field(key).value !== (sub[key] || "")) body[key] = field(key).value;
      for (const key of ["start", "end"]) if (field(key).value !== (sub[key] || "").slice(0, 10)) body[key] = field(key).value || null;
      const tags = field("tags").value.split(",").map((t) => t.trim().toLowerCase()).filter(Boolean);
      if (tags.join(",") !== (sub.tags || []).join(",")) body.tags = tags;
      if (field("pinned").checked !== sub.pinned) body.pinned = field("pinned").checked;
      if (!Object.keys(body).length) {
        flash("Nothing to save: no field was changed.");
        return;
      }
      delete form.dataset.dirty;
      if (!(await act(sub, "PATCH", "", body, `Saved the changes to ${body.name || sub.name}.`))) form.dataset.dirty = "1";
    });
    return h("details", { class: "editor", "data-part": "edit" }, h("summary", { "data-focus": "edit-summary", text: "Edit details, dates, pin" }), withPhoto ? focalPicker(sub) : null, form);
  }

  // ---- the tabs -------------------------------------------------------------------------------
  function pendingCard(sub) {
    return h(
      "article",
      { class: "card", "aria-labelledby": `title-${sub.id}` },
      h("div", { class: "visual" }, preview(sub), focalPicker(sub)),
      h(
        "div",
        { class: "info" },
        h("h3", { id: `title-${sub.id}`, text: sub.name || "(no name)" }),
        subtitle(sub),
        badges(sub),
        sub.quote ? h("blockquote", { text: sub.quote }) : null,
        facts(sub),
        problemList(sub),
        sub.on_screen ? changes(sub) : null,
        storyText(sub),
        decide(sub),
        editor(sub, false),
      ),
    );
  }

  function retireButton(sub) {
    const button = h("button", { type: "button", class: "danger", "data-focus": "retire" }, "Retire");
    let armed = false;
    button.addEventListener("click", () => {
      if (!armed) {
        armed = true;
        button.textContent = "Really take it off every screen?";
        setTimeout(() => {
          armed = false;
          button.textContent = "Retire";
        }, 5000);
        return;
      }
      act(sub, "POST", "/retire", undefined, `Retired: ${sub.name} is off the screens.`);
    });
    return button;
  }

  /** Swap places with a neighbour: two PATCHes of `position`. */
  async function swap(sub, other, direction) {
    try {
      await api("PATCH", `/api/admin/submissions/${sub.id}`, { position: other.position });
      await api("PATCH", `/api/admin/submissions/${other.id}`, { position: sub.position });
      state.refocus = { key: String(sub.id), focus: direction };
      flash(`Moved ${sub.name} ${direction}.`);
    } catch (err) {
      flash(err.message, true);
    }
    refresh();
  }

  function approvedRow(sub, group, index) {
    const rev = sub.on_screen || sub;
    const waiting = sub.status !== "approved";
    const up = h("button", { type: "button", "data-focus": "up", "aria-label": `Move ${rev.name} up`, disabled: index === 0, onclick: () => swap(sub, group[index - 1], "up") }, "▲");
    const down = h("button", { type: "button", "data-focus": "down", "aria-label": `Move ${rev.name} down`, disabled: index === group.length - 1, onclick: () => swap(sub, group[index + 1], "down") }, "▼");
    const pin = h("input", { type: "checkbox", checked: sub.pinned, "data-focus": "pin" });
    pin.addEventListener("change", () => act(sub, "PATCH", "", { pinned: pin.checked }, pin.checked ? `Pinned ${rev.name}.` : `Unpinned ${rev.name}.`));
    const decision = rev.decision ? `approved by ${rev.decision.by}` : "";
    return h(
      "article",
      { class: "row-card", "aria-labelledby": `playing-${sub.id}` },
      rev.thumbnail ? h("img", { class: "thumb", src: rev.thumbnail, alt: "" }) : h("div", { class: "thumb" }),
      h(
        "div",
        { class: "info" },
        h("h3", { id: `playing-${sub.id}`, text: rev.name }),
        subtitle(rev),
        h("p", { class: "muted" }, h("code", { text: sub.source }), decision ? ` · ${decision} ` : " ", rev.decision ? when(rev.decision.at) : null),
        rev.start || rev.end ? h("p", { class: "muted", text: `Shown ${rev.start ? `from ${rev.start}` : ""} ${rev.end ? `until ${rev.end}` : ""}` }) : null,
        waiting ? h("p", { class: "badges" }, h("span", { class: "badge changed", text: `A newer version is in ${sub.status === "problem" ? "Problems" : "Pending"}` })) : editor(sub, true),
      ),
      h(
        "div",
        { class: "controls" },
        h("div", { class: "order", role: "group", "aria-label": "Order" }, up, down),
        h("label", { class: "check" }, pin, " Pinned"),
        retireButton(sub),
      ),
    );
  }

  function rejectedRow(sub) {
    const d = sub.decision || {};
    return h(
      "article",
      { class: "row-card", "aria-labelledby": `title-${sub.id}` },
      sub.thumbnail ? h("img", { class: "thumb", src: sub.thumbnail, alt: "" }) : h("div", { class: "thumb" }),
      h(
        "div",
        { class: "info" },
        h("h3", { id: `title-${sub.id}`, text: sub.name }),
        subtitle(sub),
        h("p", {}, h("strong", { text: "Reason: " }), d.reason || "—"),
        h("p", { class: "muted" }, h("code", { text: sub.source }), ` · rejected by ${d.by || "?"} `, when(d.at)),
      ),
      h("div", { class: "controls" }, decide(sub)),
    );
  }

  function problemRow(sub) {
    const files = [...new Set([sub.text_path, sub.photo_path].filter(Boolean))];
    return h(
      "article",
      { class: "row-card problem", "aria-labelledby": `title-${sub.id}` },
      h(
        "div",
        { class: "info" },
        h("h3", { id: `title-${sub.id}` }, h("code", { text: files.length ? files.join(" + ") : sub.source })),
        sub.name ? h("p", { class: "subtitle", text: sub.name }) : null,
        problemList(sub),
        h("p", { class: "muted" }, "Arrived ", when(sub.submitted_at), sub.owner ? ` · dropped by ${sub.owner}` : "", sub.on_screen ? " · the earlier version stays on the screens" : ""),
      ),
    );
  }

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
    const body = rows.map((row) =>
      h(
        "tr",
        { class: row.class },
        row.cells.map((cell, i) => h(i ? "td" : "th", { scope: i ? null : "row", "data-label": headings[i] }, h("span", {}, cell))),
      ),
    );
    return h("table", {}, h("thead", {}, h("tr", {}, headings.map((t) => h("th", { scope: "col", text: t })))), h("tbody", {}, body));
  }

  function renderAudit(entries) {
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
    wrap.replaceChildren(entries.length ? table(["When", "Who", "What", "Story", "Details"], rows) : h("p", { class: "empty", text: "Nothing has happened yet." }));
  }

  function renderScreens(screens) {
    const rows = screens.map((s) => ({
      class: s.silent ? "silent" : null,
      cells: [
        s.name,
        s.silent ? h("strong", { class: "bad-text", text: `Silent for ${Math.round(s.silent_seconds / 60)} min: check its power and network` }) : "OK",
        when(s.last_seen),
        s.showing || "—",
        s.address || "",
      ],
    }));
    document.querySelector('[data-list="screens"]').replaceChildren(screens.length ? table(["Screen", "State", "Last heartbeat", "Showing", "Address"], rows) : "");
    document.querySelector('[data-empty="screens"]').hidden = screens.length > 0;
  }

  function renderUsers(users) {
    const rows = users.map((u) => {
      const remove = h("button", { type: "button", class: "danger", "aria-label": `Remove ${u.name}`, disabled: u.name === config.user }, "Remove");
      remove.addEventListener("click", async () => {
        try {
          await api("DELETE", `/api/admin/users/${encodeURIComponent(u.name)}`);
          flash(`Removed ${u.name}.`);
          refresh();
        } catch (err) {
          flash(err.message, true);
        }
      });
      return { cells: [u.name, u.role, when(u.created_at), remove] };
    });
    document.querySelector('[data-list="users"]').replaceChildren(table(["User", "Role", "Added", ""], rows));
  }

  const addUser = document.getElementById("add-user");
  if (addUser) {
    addUser.addEventListener("submit", async (event) => {
      event.preventDefault();
      const field = (name) => addUser.elements.namedItem(name);
      try {
        const user = await api("POST", "/api/admin/users", {
          username: field("username").value,
          role: field("role").value,
          password: field("password").value,
        });
        addUser.reset();
        flash(`Added ${user.name} (${user.role}).`);
        refresh();
      } catch (err) {
        flash(err.message, true);
      }
    });
  }

  function stamp(sub) {
    // Everything a card shows except relative times (those are updated in place).
    return JSON.stringify([sub, state.screen]);
  }

  function render() {
    const subs = state.subs;
    const pending = subs.filter((s) => s.status === "pending");
    const onScreens = subs
      .filter((s) => s.on_screen && s.status !== "retired")
      .sort((a, b) => b.pinned - a.pinned || a.position - b.position || a.id - b.id);
    const rejected = subs.filter((s) => s.status === "rejected").reverse();
    const problems = subs.filter((s) => s.status === "problem");
    reconcile(document.querySelector('[data-list="pending"]'), pending, (s) => s.id, stamp, pendingCard);
    // Pinned stories play first, so each group is ordered on its own.
    const groups = [onScreens.filter((s) => s.pinned), onScreens.filter((s) => !s.pinned)];
    const placed = new Map(groups.flatMap((g) => g.map((s, i) => [s.id, [g, i]])));
    reconcile(
      document.querySelector('[data-list="approved"]'),
      onScreens,
      (s) => s.id,
      (s) => JSON.stringify([s, placed.get(s.id)[1], placed.get(s.id)[0].length]),
      (s) => approvedRow(s, ...placed.get(s.id)),
    );
    reconcile(document.querySelector('[data-list="rejected"]'), rejected, (s) => s.id, stamp, rejectedRow);
    reconcile(document.querySelector('[data-list="problem"]'), problems, (s) => s.id, stamp, problemRow);
    const counts = { pending: pending.length, approved: onScreens.length, rejected: rejected.length, problem: problems.length };
    for (const [key, n] of Object.entries(counts)) {
      const badge = document.querySelector(`[data-count="${key}"]`);
      badge.textContent = n ? String(n) : "";
      badge.hidden = !n;
    }
    document.title = `${pending.length ? `(${pending.length}) ` : ""}Moderation · Hallway Kiosk`;
    applyRefocus();
  }

  // ---- polling ----------------------------------------------------------------------------------
  let running = null;
  function refresh() {
    running =
      running ||
      (async () => {
        try {
          const data = await api("GET", "/api/admin/submissions", undefined, true);
          state.subs = data.submissions;
          render();
          if (state.tab === "audit") renderAudit((await api("GET", "/api/admin/audit", undefined, true)).entries);
          if (state.tab === "screens") renderScreens((await api("GET", "/api/admin/screens", undefined, true)).screens);
          if (state.tab === "users") renderUsers((await api("GET", "/api/admin/users", undefined, true)).users);
          refreshTimes();
          document.getElementById("offline").hidden = true;
        } catch (err) {
          if (err.status !== 401) document.getElementById("offline").hidden = false;
        } finally {
          running = null;
        }
      })();
    return running;
  }

  // ---- tabs (WAI-ARIA tabs pattern: arrow keys move between tabs) ---------------------------------
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
  for (const tab of tabs) {
    tab.addEventListener("click", () => showTab(tab.dataset.tab));
    tab.addEventListener("keydown", (event) => {
      const i = tabs.indexOf(tab);
      const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[event.key];
      if (next === undefined) return;
      event.preventDefault();
      showTab(tabs[(next + tabs.length) % tabs.length].dataset.tab, true);
    });
  }

  const screenSelect = document.getElementById("preview-screen");
  for (const s of config.screens) screenSelect.append(h("option", { value: s.name, text: `${s.name} (${s.orientation})` }));
  screenSelect.addEventListener("change", () => {
    state.screen = screenSelect.value;
    render();
  });

  document.getElementById("logout").addEventListener("click", async () => {
    try {
      await api("POST", "/api/admin/logout");
    } finally {
      location.assign("/admin/login");
    }
  });

  showTab(location.hash.slice(1) || "pending");
  setInterval(() => {
    if (!document.hidden) refresh();
  }, POLL_MS);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) refresh();
  });
})();
