/* The focal point picker: the spot of the photo a slide keeps in view when it crops. Click the
   face, or move the marker with the arrow keys (Shift for small steps). */
import { h } from "./dom.js";
import { changeSubmission } from "./state.js";

const KEY_SAVE_DELAY_MS = 600; // arrow keys come in bursts: save once they stop
const STEP = 0.05;
const FINE_STEP = 0.01;
const ARROWS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

const clamp = (v) => Math.min(1, Math.max(0, v));
const percent = (v) => Math.round(v * 100);

/** The photo with the marker on it; it takes the keyboard focus for the arrow keys. */
function photoPad(sub) {
  const img = h("img", {
    src: sub.thumbnail,
    alt: sub.photo_alt || `Photo of ${sub.name}`,
    draggable: "false",
    loading: "lazy",
  });
  const marker = h("span", { class: "marker", "aria-hidden": "true" });
  const pad = h(
    "div",
    {
      class: "focal",
      tabindex: "0",
      role: "group",
      "data-focus": "focal",
      "aria-label":
        `Focal point of the photo of ${sub.name}: ` +
        "click the face, or move it with the arrow keys",
    },
    img,
    marker,
  );
  return { pad, img, marker };
}

export function focalPicker(sub) {
  if (!sub.thumbnail) return h("p", { class: "muted", text: "No photo yet." });
  const { pad, img, marker } = photoPad(sub);
  const point = { x: sub.focal[0], y: sub.focal[1] };
  const place = () => {
    marker.style.left = `${point.x * 100}%`;
    marker.style.top = `${point.y * 100}%`;
    pad.title = `Kept in view: ${percent(point.x)}% across, ${percent(point.y)}% down`;
  };
  const save = debouncedSave(sub, point);
  const moveTo = (x, y, delay) => {
    point.x = clamp(x);
    point.y = clamp(y);
    place();
    save(delay);
  };
  pad.addEventListener("click", (event) => {
    const box = img.getBoundingClientRect();
    moveTo((event.clientX - box.left) / box.width, (event.clientY - box.top) / box.height, 0);
  });
  pad.addEventListener("keydown", (event) => {
    const arrow = ARROWS[event.key];
    if (!arrow) return;
    event.preventDefault();
    const step = event.shiftKey ? FINE_STEP : STEP;
    moveTo(point.x + arrow[0] * step, point.y + arrow[1] * step, KEY_SAVE_DELAY_MS);
  });
  place();
  const hint = "Click the face: the slide keeps that spot in view when it crops.";
  return h("figure", { class: "photo" }, pad, h("figcaption", { text: hint }));
}

/** save(delay): PATCH the point after `delay` ms, unless another save comes first. */
function debouncedSave(sub, point) {
  let timer = 0;
  return (delay) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const focal = [Math.round(point.x * 1000) / 1000, Math.round(point.y * 1000) / 1000];
      changeSubmission(sub, "PATCH", "", { focal }, `Focal point of ${sub.name} saved.`);
    }, delay);
  };
}
