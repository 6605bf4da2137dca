/* Hallway Kiosk player: runs for weeks in a kiosk browser, so it never navigates away, never
   lets one bad slide blank the screen, and keeps a fixed number of DOM nodes (two slide layers
   that take turns). Plain JavaScript, no build step.

   Query string: screen=NAME; preview=ID (admin: one slide from the admin API, nothing else);
   slide_ms=N (every slide lasts N ms: for tests and demos). */
(() => {
  "use strict";

  const CACHE = "kiosk";
  const RECONNECT_MS = [1000, 10000]; // first and largest delay between SSE reconnects
  const DECODE_TIMEOUT_MS = 8000;
  const FIT_STEPS = 7; // binary search steps for the text size: 1/128 of the range
  const SENTENCE_END = /[.!?…]+["'”’)\]]*(?=\s|$)/g;
  const WORD_END = /\S(?=\s)/g;
  const MIN_WORDS = 8; // a story cut shorter than this says nothing: drop it instead

  const config = JSON.parse(document.getElementById("kiosk-config").textContent);
  const params = new URLSearchParams(location.search);
  const preview = params.get("preview");
  const slideMs = Number(params.get("slide_ms")) || 0;
  const root = document.documentElement;
  const playlistUrl = preview
    ? `/api/admin/submissions/${encodeURIComponent(preview)}/preview?screen=${config.screen}`
    : config.playlist;

  const layers = Array.from(document.querySelectorAll(".stage > .slide"), (el) => ({
    el,
    fields: Array.from(el.querySelectorAll("[data-field]")),
    box: el.querySelector("[data-fit]"),
  }));
  const loader = new Image(); // preloads and decodes the next photo; reused, never appended
  const scratch = document.createElement("template"); // inert: parsing loads no images

  const state = {
    playlist: null, // what is playing
    next: null, // arrived; taken at the next slide boundary
    index: -1,
    front: 0, // which layer is visible
    idle: true, // nothing rotating (loading, empty, quiet): a new playlist applies at once
    timer: 0,
    changeTimer: 0,
    reloadAt: config.reload_ms > 0 ? Date.now() + config.reload_ms : Infinity,
    newCode: null, // the server's page code, when it differs from ours
  };
  // Read by tests and by anyone debugging a screen from the DevTools console.
  const kiosk = (window.kiosk = { transitions: 0, version: null, slide: null, errors: 0 });

  function report(err) {
    kiosk.errors += 1;
    console.error("kiosk:", err);
  }

  function setState(name) {
    if (root.dataset.state === name) return;
    root.dataset.state = name;
    if (!preview) wakeLock();
  }

  // ---- playlist ---------------------------------------------------------------------------
  async function fetchPlaylist() {
    try {
      const res = await fetch(playlistUrl, { cache: "no-cache" });
      if (!res.ok) throw new Error(`${playlistUrl}: HTTP ${res.status}`);
      receive(await res.json());
    } catch (err) {
      report(err); // offline: the last good playlist keeps playing
    }
  }

  function receive(data) {
    if (!data || !Array.isArray(data.slides)) return;
    if (!preview) noticeCode(data.code);
    const latest = state.next || state.playlist;
    if (latest && latest.version === data.version) return;
    state.next = data;
    if (!preview) {
      watchNextChange(data.next_change);
      keepOffline(data);
    }
    if (state.idle) advance();
  }

  function adopt(data) {
    // Keep our place: the slide after the current one comes next, even if others moved.
    const current = state.playlist && state.playlist.slides[state.index];
    const at = current ? data.slides.findIndex((s) => s.id === current.id) : -1;
    state.index = at >= 0 ? at : Math.max(state.index - 1, -1);
    state.playlist = data;
    kiosk.version = data.version;
  }

  // A start date or quiet hour passing also arrives over SSE; this catches a missed event.
  function watchNextChange(when) {
    clearTimeout(state.changeTimer);
    const due = when ? Date.parse(when) - Date.now() : NaN;
    if (due >= 0) state.changeTimer = setTimeout(fetchPlaylist, Math.min(due + 1000, 2 ** 31 - 1));
  }

  // ---- rotation ---------------------------------------------------------------------------
  async function advance() {
    clearTimeout(state.timer);
    try {
      if ((state.newCode || Date.now() >= state.reloadAt) && (await reload())) return;
      if (state.next) {
        adopt(state.next);
        state.next = null;
      }
      const playlist = state.playlist;
      if (!playlist) return;
      if (playlist.quiet && !preview) return rest("quiet");
      if (!playlist.slides.length) return rest("empty");
      if (preview && kiosk.transitions) return; // a preview shows one slide and stays
      state.idle = false;
      state.index = (state.index + 1) % playlist.slides.length;
      await show(playlist.slides[state.index]);
      if (!preview) {
        const after = playlist.slides[(state.index + 1) % playlist.slides.length];
        preload(after.image);
      }
    } catch (err) {
      report(err); // one bad slide must not stop the wall: try the next one
      state.timer = setTimeout(advance, 1000);
    }
  }

  function rest(name) {
    state.idle = true;
    setState(name);
  }

  async function show(slide) {
    const back = layers[1 - state.front];
    const photo = (await preload(slide.image)) ? slide.image : null;
    fill(back, slide, photo);
    fit(back);
    const front = layers[state.front];
    back.el.classList.add("is-active");
    back.el.setAttribute("aria-hidden", "false");
    front.el.classList.remove("is-active");
    front.el.setAttribute("aria-hidden", "true");
    state.front = 1 - state.front;
    setState("playing");
    kiosk.slide = slide.id;
    kiosk.transitions += 1;
    if (kiosk.transitions === 1 && !preview) heartbeat();
    if (!preview) state.timer = setTimeout(advance, slideMs || slide.duration_ms);
  }

  // Resolves true when `url` is decoded, false when it failed or took too long: the slide
  // then goes on without its photo rather than with a broken-image icon or not at all.
  function preload(url) {
    if (!url) return Promise.resolve(false);
    const absolute = new URL(url, location.href).href;
    if (loader.src !== absolute) loader.src = absolute;
    let timeout;
    const late = new Promise((resolve) => {
      timeout = setTimeout(resolve, DECODE_TIMEOUT_MS, false);
    });
    const decoded = loader.decode().then(
      () => true,
      () => false,
    );
    return Promise.race([decoded, late]).finally(() => clearTimeout(timeout));
  }

  function fill(layer, slide, photo) {
    for (const el of layer.fields) {
      const field = el.dataset.field;
      if (field === "image") {
        if (photo) {
          el.src = photo;
          el.alt = slide.photo_alt || slide.name || "";
          const [x, y] = slide.focal || [0.5, 0.3];
          el.style.objectPosition = `${x * 100}% ${y * 100}%`;
        } else {
          el.removeAttribute("src");
        }
      } else if (field === "html") {
        el.replaceChildren(storyNodes(slide.html));
      } else {
        el.textContent = slide[field] == null ? "" : String(slide[field]);
      }
    }
    layer.el.classList.toggle("no-photo", !photo);
  }

  // The story is the server's Markdown rendering with raw HTML disabled, so its text is
  // already escaped. Pictures and links from the Markdown would fetch or navigate: they
  // become plain text.
  function storyNodes(html) {
    scratch.innerHTML = html || "";
    const content = scratch.content;
    for (const img of content.querySelectorAll("img")) img.replaceWith(img.alt || "");
    for (const a of content.querySelectorAll("a")) a.replaceWith(...a.childNodes);
    return content;
  }

  // ---- text fitting -----------------------------------------------------------------------
  const fits = (box) =>
    box.scrollHeight <= box.clientHeight && box.scrollWidth <= box.clientWidth;

  // The theme's CSS keeps every size at or above its floor (body text >= 3.5 vh) whatever
  // --fit is, so the player only searches the largest --fit that fits. If even the floors are
  // too big, the story is cut after its last sentence that fits; if not even the first one
  // does, after a word; as a last resort the story goes and the quote is cut after a word.
  function fit(layer) {
    const box = layer.box;
    if (!box) return;
    box.style.setProperty("--fit", "1");
    if (fits(box)) return;
    box.style.setProperty("--fit", "0");
    if (!fits(box)) return shorten(box);
    let lo = 0;
    let hi = 1;
    for (let i = 0; i < FIT_STEPS; i += 1) {
      const mid = (lo + hi) / 2;
      box.style.setProperty("--fit", String(mid));
      if (fits(box)) lo = mid;
      else hi = mid;
    }
    box.style.setProperty("--fit", String(lo));
  }

  function shorten(box) {
    const story = box.querySelector('[data-field="html"]');
    const quote = box.querySelector('[data-field="quote"]');
    if (story) {
      if (cut(box, story, SENTENCE_END, " …") || cut(box, story, WORD_END, "…", MIN_WORDS)) return;
      story.replaceChildren();
    }
    if (quote && !fits(box)) cut(box, quote, WORD_END, "…");
  }

  // Drops text from the end of `el`, back to one match of `pattern` at a time (keeping at
  // least `keep` matches), until `box` fits; false, with `el` shortened to `keep`, if never.
  function cut(box, el, pattern, ellipsis, keep = 1) {
    const ends = [];
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const match of node.data.matchAll(pattern)) {
        ends.push([node, match.index + match[0].length]);
      }
    }
    const range = document.createRange();
    const mark = document.createTextNode(ellipsis);
    for (let i = ends.length - 1; i >= keep - 1; i -= 1) {
      const [node, offset] = ends[i];
      range.setStart(node, offset);
      range.setEnd(el, el.childNodes.length);
      const dropped = range.toString().trim() !== "";
      range.deleteContents();
      if (dropped) node.after(mark);
      if (fits(box)) return true;
      mark.remove();
    }
    return false;
  }

  // ---- staying alive ----------------------------------------------------------------------
  // New server code or theme: reload at the next boundary, once per code. If the page that
  // comes back still differs (a proxy's stale copy), reloading again would only loop.
  function noticeCode(code) {
    if (!code || code === config.code) return;
    if (sessionStorage.getItem("kiosk-reloaded-for") !== code) state.newCode = code;
  }

  // Reload at a slide boundary, but only when the page can come back: from the server or
  // from the service worker. A failed reload would leave a browser error page on the wall.
  async function reload() {
    try {
      const res = await fetch(location.href, { cache: "no-store" });
      if (res.ok) {
        if (state.newCode) sessionStorage.setItem("kiosk-reloaded-for", state.newCode);
        location.reload();
        return true;
      }
    } catch (err) {
      report(err);
    }
    state.reloadAt = Date.now() + 60000;
    return false;
  }

  function heartbeat() {
    fetch(config.heartbeat, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ slide: kiosk.slide, version: kiosk.version }),
      keepalive: true,
    }).catch(() => {}); // the admin page shows a screen that stops beating; nothing to do here
  }

  function listen() {
    let delay = RECONNECT_MS[0];
    const connect = () => {
      const source = new EventSource(config.events);
      source.addEventListener("open", () => {
        delay = RECONNECT_MS[0];
        fetchPlaylist(); // catch up with whatever changed while we were away
      });
      source.addEventListener("playlist", (event) => {
        let message;
        try {
          message = JSON.parse(event.data);
        } catch (err) {
          return report(err);
        }
        noticeCode(message.code);
        const latest = state.next || state.playlist;
        if (!latest || latest.version !== message.version) fetchPlaylist();
      });
      // Our own backoff with jitter, so a room of screens does not reconnect in lockstep.
      source.addEventListener("error", () => {
        source.close();
        setTimeout(connect, delay * (0.5 + Math.random() / 2));
        delay = Math.min(delay * 2, RECONNECT_MS[1]);
      });
    };
    connect();
  }

  // Keep the screen on while there is something to see; in quiet hours let it sleep.
  // Calls are chained so two quick state changes cannot take two locks.
  let lock = null;
  let locking = Promise.resolve();
  function wakeLock() {
    locking = locking.then(updateLock);
  }

  async function updateLock() {
    const wanted = root.dataset.state !== "quiet" && document.visibilityState === "visible";
    if (!("wakeLock" in navigator) || wanted === (lock !== null)) return;
    try {
      if (wanted) {
        lock = await navigator.wakeLock.request("screen");
        lock.addEventListener("release", () => {
          lock = null; // the browser takes it back when the page is hidden
        });
      } else {
        await lock.release();
      }
    } catch (err) {
      console.info("kiosk: no wake lock:", err.message); // the OS's blanking settings rule
    }
  }

  // ---- offline ----------------------------------------------------------------------------
  // The service worker answers from this cache when the server is gone; the page fills it
  // (the first load happens before the worker runs) and prunes what no slide needs any more.
  async function keepOffline(playlist) {
    if (!("caches" in window) || !("serviceWorker" in navigator)) return;
    try {
      const cache = await caches.open(CACHE);
      await cache.put(
        config.playlist,
        new Response(JSON.stringify(playlist), { headers: { "Content-Type": "application/json" } }),
      );
      const assets = Array.from(
        document.querySelectorAll("link[href], script[src]"),
        (el) => el.href || el.src,
      ).filter((url) => url.startsWith(location.origin));
      const images = playlist.slides.filter((s) => s.image).map((s) => new URL(s.image, location.href).href);
      const keep = new Set([...assets, ...images]);
      for (const request of await cache.keys()) {
        const path = new URL(request.url).pathname;
        if (/^\/(media|static|themes)\//.test(path) && !keep.has(request.url)) cache.delete(request);
      }
      for (const url of [location.href, ...keep]) {
        if (!(await cache.match(url))) await cache.add(url).catch(report);
      }
    } catch (err) {
      report(err);
    }
  }

  async function registerWorker() {
    if (!("serviceWorker" in navigator)) return; // not a secure context (plain http to a LAN host)
    try {
      await navigator.serviceWorker.register("/sw.js");
    } catch (err) {
      report(err);
    }
  }

  // ---- start ------------------------------------------------------------------------------
  window.addEventListener("error", (event) => report(event.error || event.message));
  window.addEventListener("unhandledrejection", (event) => report(event.reason));
  document.addEventListener("click", (event) => event.preventDefault(), true);
  if (slideMs) root.style.setProperty("--fade", `${Math.min(1200, Math.round(slideMs / 3))}ms`);

  fetchPlaylist();
  if (!preview) {
    listen();
    registerWorker();
    wakeLock();
    document.addEventListener("visibilitychange", wakeLock);
    setInterval(heartbeat, config.heartbeat_ms);
  }
})();
