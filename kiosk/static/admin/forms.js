/* The two forms of a story: the decision (approve, or reject with a reason) and the editor
   (fields, dates, tags, pin). A form being filled in marks itself dirty, so polling does not
   rebuild it under the moderator's hands. */
import { h } from "./dom.js";
import { changeSubmission, config, flash } from "./state.js";

// The one-line text fields a moderator may fix, with their labels and limits (kiosk.model).
const EDIT_FIELDS = config.fields.filter((f) => f.kind === "text" && f.editable);

function trackDirty(form) {
  form.addEventListener("input", () => {
    form.dataset.dirty = "1";
  });
}

/** Send `form`'s change; it stays dirty (kept as typed) when the change fails. */
async function submitChange(form, sub, method, suffix, body, done, fieldError = null) {
  delete form.dataset.dirty;
  if (!(await changeSubmission(sub, method, suffix, body, done, fieldError))) {
    form.dataset.dirty = "1";
  }
}

const NO_REASON = "Write a reason, so the person who dropped the file knows what to fix.";

/** Mark `input` as wrong with `message` shown under it (or clear it with ""), and take the
   moderator there: the status line at the top of the page may be scrolled out of sight. */
function markField(input, note, message) {
  note.textContent = message;
  note.hidden = !message;
  if (message) {
    input.setAttribute("aria-invalid", "true");
    input.focus();
    input.scrollIntoView({ block: "center", behavior: "smooth" });
  } else {
    input.removeAttribute("aria-invalid");
  }
}

/** Why the story cannot be approved yet; "" when it can. */
function approvalBlocker(sub) {
  if (sub.status === "problem") return "Fix the problem in the file first.";
  if (config.require_consent && !sub.consent) {
    return "Needs “consent: yes” in the file before it can be approved.";
  }
  return "";
}

function approveButton(sub, blocked) {
  const done = `Approved: ${sub.name} is on the screens now.`;
  return h(
    "button",
    {
      type: "button",
      class: "primary",
      "data-focus": "approve",
      disabled: Boolean(blocked),
      "aria-describedby": blocked ? `why-${sub.id}` : null,
      onclick: () => changeSubmission(sub, "POST", "/approve", { revision: sub.revision }, done),
    },
    sub.status === "rejected" ? "Approve anyway" : "Approve",
  );
}

function rejectForm(sub) {
  const reason = h("input", {
    id: `reason-${sub.id}`,
    name: "reason",
    autocomplete: "off",
    "data-focus": "reason",
    placeholder: "e.g. the photo is blurred: please send a sharper one",
  });
  const note = h("p", {
    class: "error field-error",
    id: `reason-error-${sub.id}`,
    role: "alert",
    hidden: true,
  });
  reason.setAttribute("aria-describedby", note.id);
  const label = "Reason for rejecting (the person who dropped the file sees it)";
  const button = h("button", { type: "submit", "data-focus": "reject" }, "Reject");
  const form = h(
    "form",
    { class: "reject" },
    h("label", { for: reason.id, text: label }),
    h("div", { class: "row" }, reason, button),
    note,
  );
  trackDirty(form);
  reason.addEventListener("input", () => markField(reason, note, ""));
  const shown = (fields) => Boolean(fields.reason) && (markField(reason, note, fields.reason), true);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!reason.value.trim()) {
      markField(reason, note, NO_REASON);
      return;
    }
    const done = `Rejected: ${sub.name}.`;
    submitChange(form, sub, "POST", "/reject", { reason: reason.value }, done, shown);
  });
  return form;
}

/** Approve, or reject with a reason (a rejected story can only be approved anyway). */
export function decide(sub) {
  const blocked = approvalBlocker(sub);
  const why = blocked ? h("p", { class: "hint", id: `why-${sub.id}`, text: blocked }) : null;
  return h(
    "div",
    { class: "decide" },
    h("div", { class: "row" }, approveButton(sub, blocked)),
    why,
    sub.status === "rejected" ? null : rejectForm(sub),
  );
}

function dateInput(id, name, label, value) {
  return h(
    "div",
    {},
    h("label", { for: id, text: label }),
    h("input", { id, name, type: "date", value: (value || "").slice(0, 10) }),
  );
}

function editorFields(sub, id) {
  const fields = EDIT_FIELDS.map(({ name, label, limit }) => [
    h("label", { for: id(name), text: label }),
    h("input", {
      id: id(name),
      name,
      value: sub[name] || "",
      maxlength: limit,
      autocomplete: "off",
    }),
  ]);
  const tagsLabel = "Tags (comma-separated; screens with tags show only matching stories)";
  return [
    fields,
    h(
      "div",
      { class: "dates" },
      dateInput(id("start"), "start", "Show from", sub.start),
      dateInput(id("end"), "end", "Show until (including)", sub.end),
    ),
    h("label", { for: id("tags"), text: tagsLabel }),
    h("input", {
      id: id("tags"),
      name: "tags",
      value: (sub.tags || []).join(", "),
      autocomplete: "off",
    }),
    h(
      "label",
      { class: "check" },
      h("input", { type: "checkbox", name: "pinned", checked: sub.pinned }),
      " Pinned: plays before the others",
    ),
    h("button", { type: "submit", "data-focus": "save" }, "Save changes"),
  ];
}

/** What the editor's fields change, in the API's terms: only the fields that differ. */
function editedFields(form, sub) {
  const field = (name) => form.elements.namedItem(name);
  const body = {};
  for (const { name } of EDIT_FIELDS) {
    if (field(name).value !== (sub[name] || "")) body[name] = field(name).value;
  }
  for (const key of ["start", "end"]) {
    if (field(key).value !== (sub[key] || "").slice(0, 10)) body[key] = field(key).value || null;
  }
  const tags = field("tags")
    .value.split(",")
    .map((t) => t.trim().toLowerCase())
    .filter(Boolean);
  if (tags.join(",") !== (sub.tags || []).join(",")) body.tags = tags;
  if (field("pinned").checked !== sub.pinned) body.pinned = field("pinned").checked;
  return body;
}

/** Fix fields, dates, tags and the pin; only what changed is sent. */
export function editor(sub, photo) {
  const form = h("form", { class: "edit" }, editorFields(sub, (key) => `edit-${key}-${sub.id}`));
  trackDirty(form);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = editedFields(form, sub);
    if (!Object.keys(body).length) {
      flash("Nothing to save: no field was changed.");
      return;
    }
    submitChange(form, sub, "PATCH", "", body, `Saved the changes to ${body.name || sub.name}.`);
  });
  const summary = h("summary", { "data-focus": "edit-summary", text: "Edit details, dates, pin" });
  return h("details", { class: "editor", "data-part": "edit" }, summary, photo, form);
}
