/* Hallway Kiosk player: runs for weeks in a kiosk browser, so it never navigates away, never
   lets one bad slide blank the screen, and keeps a fixed number of DOM nodes (two slide layers
   that take turns). Plain JavaScript, no build step.

   A story too long for the screen is never cut: it continues on further pages of the same
   slide, each shown for its own reading time.

   Query string: screen=NAME; preview=ID (admin: one slide from the admin API, nothing else);
   slide_ms=N (every slide and page lasts N ms: for tests and demos). */
(() => {
  "use strict";

  const CACHE = "kiosk";
  const RECONNECT_MS = [1000, 10000]; // first and largest delay between SSE reconnects
  const DECODE_TIMEOUT_MS = 8000;
  const FIT_STEPS = 7; // binary search steps for the text size: 1/128 of the range
  const NAME_MS = 3000; // as NAME_SECONDS in playlist.py: the face and name before reading
  // Where the focal point goes in the photo's box (headroom above); a theme with a caption on
  // the photo sets the height higher with `--face-at` (a fraction) on the img.
  const FACE_AT = [0.5, 0.45];
  const BREAKS = ["sentence", "word", "grapheme"]; // where a page may end, best first
  const BLOCKS = "p, li, blockquote, h1, h2, h3, h4, h5, h6, pre, td, th"; // a break between

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
    story: el.querySelector('[data-field="html"]'),
    pager: el.querySelector("[data-pages]"),
    photo: el.querySelector('img[data-field="image"]'),
    qr: el.querySelector("[data-qr]"), // only when the theme shows QR codes
  }));
  const SLIDES = "/api/slides/"; // + a slide's content hash: the slide, never changing
  const slides = new Map(); // content hash -> slide, for the hashes the playlists list
  const loader = new Image(); // preloads and decodes the next photo; reused, never appended
  const scratch = document.createElement("template"); // inert: parsing loads no images

  const state = {
    playlist: null, // what is playing
    next: null, // arrived; taken at the next slide boundary
    index: -1,
    front: 0, // which layer is visible
    shown: null, // {slide, photo, fit, pages}: what the front layer shows, for its next page
    page: 0,
    idle: true, // nothing rotating (loading, empty, quiet): a new playlist applies at once
    timer: 0,
    changeTimer: 0,
    reloadAt: config.reload_ms > 0 ? Date.now() + config.reload_ms : Infinity,
    newCode: null, // the server's page code, when it differs from ours
  };
  // Read by tests and by anyone debugging a screen from the DevTools console.
  // `page` is {index, count, ms}: ms is the page's reading time, whatever slide_ms says.
  const kiosk = (window.kiosk = {
    transitions: 0,
    version: null,
    slide: null,
    page: null,
    errors: 0,
  });

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
  // A playlist lists slides by content hash; with the version we have, the server sends only
  // what changed since (when it still knows that version), so a decision costs a screen a few
  // hundred bytes and the slides it has not seen.
  // One request at a time: two at once would both ask for changes since the same version,
  // and the second answer, no longer about the version we have, would cost the whole list.
  let fetching = null;
  let fetchAgain = false;
  function fetchPlaylist() {
    if (fetching) {
      fetchAgain = true;
      return fetching;
    }
    fetching = (async () => {
      do {
        fetchAgain = false;
        await fetchOnce();
      } while (fetchAgain);
    })().finally(() => {
      fetching = null;
    });
    return fetching;
  }

  async function fetchOnce(whole = false) {
    try {
      const have = !preview && !whole && (state.next || state.playlist);
      const url = have ? `${playlistUrl}&since=${encodeURIComponent(have.version)}` : playlistUrl;
      const res = await fetch(url, { cache: "no-cache" });
      if (!res.ok) throw new Error(`${playlistUrl}: HTTP ${res.status}`);
      const data = patched(await res.json());
      if (data) receive(data);
      else if (!whole) await fetchOnce(true);
    } catch (err) {
      report(err); // offline: the last good playlist keeps playing
    }
  }

  // The changes to the version we have, applied: a whole playlist (null if ours is not the base).
  function patched(data) {
    if (!data || !data.changes) return data;
    const base = state.next || state.playlist;
    if (!base || base.version !== data.since) return null;
    const { changes, since, ...rest } = data;
    let list = [];
    let at = 0;
    for (const [start, removed, added] of changes) {
      list = list.concat(base.slides.slice(at, start), added);
      at = start + removed;
    }
    return { ...rest, slides: list.concat(base.slides.slice(at)) };
  }

  // The slide a playlist entry stands for: fetched once by its hash (the service worker
  // answers from its cache when it has it). A preview's slide comes whole.
  async function slideFor(entry) {
    if (!entry.hash) return entry;
    let slide = slides.get(entry.hash);
    if (!slide) {
      const res = await fetch(SLIDES + entry.hash);
      if (!res.ok) throw new Error(`${SLIDES}${entry.hash}: HTTP ${res.status}`);
      slide = await res.json();
      slides.set(entry.hash, slide);
    }
    return slide;
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
    // Keep our place: the slide after the current one comes next, even if others moved. A
    // fresh story is in the rotation twice: the same place first, else its first appearance.
    const current = state.playlist && state.playlist.slides[state.index];
    let at = current ? data.slides.findIndex((s) => s.id === current.id) : -1;
    if (current && data.slides[state.index]?.id === current.id) at = state.index;
    state.index = at >= 0 ? at : Math.max(state.index - 1, -1);
    state.playlist = data;
    kiosk.version = data.version;
    const listed = new Set(data.slides.map((s) => s.hash));
    for (const hash of slides.keys()) if (!listed.has(hash)) slides.delete(hash);
  }

  // A start date or quiet hour passing also arrives over SSE; this catches a missed event.
  function watchNextChange(when) {
    clearTimeout(state.changeTimer);
    const due = when ? Date.parse(when) - Date.now() : NaN;
    if (due >= 0) state.changeTimer = setTimeout(() => fetchPlaylist(), Math.min(due + 1000, 2 ** 31 - 1));
  }

  // ---- rotation ---------------------------------------------------------------------------
  async function advance() {
    clearTimeout(state.timer);
    try {
      // A story's pages play out before anything else changes; a preview cycles its pages.
      const pages = state.shown ? state.shown.pages.length : 0;
      if (state.page + 1 < pages || (preview && pages > 1)) {
        return await turn((state.page + 1) % pages);
      }
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
      await show(await slideFor(playlist.slides[state.index]));
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
    endPlay(); // a dark or empty screen shows nothing
    setState(name);
  }

  async function show(slide) {
    const back = layers[1 - state.front];
    const photo = (await preload(slide.image)) ? slide.image : null;
    fill(back, slide, photo);
    const { fit, pages } = paginate(back, slide.language);
    state.shown = { slide, photo, fit, pages };
    await swap(back, 0);
    if (kiosk.transitions === 1 && !preview) heartbeat();
  }

  // The next page of the story on screen: the same photo, name and quote on the other layer.
  async function turn(index) {
    const back = layers[1 - state.front];
    const { slide, photo, fit, pages } = state.shown;
    fill(back, slide, photo);
    back.box.style.setProperty("--fit", fit);
    await swap(back, index);
  }

  async function swap(back, index) {
    const { slide, pages } = state.shown;
    if (pages.length > 1) {
      back.story.replaceChildren(pages[index].content.cloneNode(true));
      back.pager.textContent = `${index + 1}/${pages.length}`;
    }
    await decoded(back.photo);
    if (back.photo) frame(back.photo, slide.focal);
    const front = layers[state.front];
    back.el.classList.add("is-active");
    back.el.setAttribute("aria-hidden", "false");
    front.el.classList.remove("is-active");
    front.el.setAttribute("aria-hidden", "true");
    state.front = 1 - state.front;
    state.page = index;
    startPlay(slide, index);
    setState("playing");
    const ms = pages.length > 1 ? pages[index].ms : slide.duration_ms;
    kiosk.slide = slide.id;
    kiosk.page = { index, count: pages.length, ms };
    kiosk.transitions += 1;
    if (!preview || pages.length > 1) state.timer = setTimeout(advance, slideMs || ms);
  }

  // object-position lays the same fraction of the photo and of its box on top of each other,
  // so a face at 30 % of a tall photo in a wide, low box would sit on the box's top edge, the
  // head cut off. Instead the focal point goes to FACE_AT of the box, as far as the photo
  // reaches; read after layout, when the box has its size.
  function frame(img, focal) {
    const [fx, fy] = focal; // every slide carries one (kiosk.model.FocalPoint)
    const [w, h, bw, bh] = [img.naturalWidth, img.naturalHeight, img.clientWidth, img.clientHeight];
    if (!w || !h || !bw || !bh) {
      img.style.objectPosition = `${fx * 100}% ${fy * 100}%`;
      return;
    }
    const scale = Math.max(bw / w, bh / h); // object-fit: cover
    const along = (f, size, box, at) => {
      const spare = size * scale - box;
      if (spare < 1) return 50;
      return Math.min(Math.max((f * size * scale - at * box) / spare, 0), 1) * 100;
    };
    const x = along(fx, w, bw, FACE_AT[0]).toFixed(2);
    const faceAt = parseFloat(getComputedStyle(img).getPropertyValue("--face-at")) || FACE_AT[1];
    const y = along(fy, h, bh, faceAt).toFixed(2);
    img.style.objectPosition = `${x}% ${y}%`;
  }

  // The incoming layer fades in over the outgoing one: its photo must be ready to paint.
  function decoded(img) {
    if (!img || !img.getAttribute("src") || (img.complete && img.naturalWidth)) {
      return Promise.resolve(); // nothing to wait for, or loaded from memory (preloaded)
    }
    let timeout;
    const late = new Promise((resolve) => {
      timeout = setTimeout(resolve, DECODE_TIMEOUT_MS);
    });
    return Promise.race([img.decode().catch(() => {}), late]).finally(() => clearTimeout(timeout));
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
    // Every field carries the story's language (line breaking, hyphens, quotation marks, fonts)
    // and its direction: from the language when known, else from the text itself.
    const lang = slide.language || "";
    const dir = lang ? direction(lang) : "auto";
    for (const el of [layer.box, ...layer.fields]) {
      if (!el) continue;
      if (lang) el.lang = lang;
      else el.removeAttribute("lang");
      if (el !== layer.box || lang) el.dir = dir;
      else el.removeAttribute("dir");
    }
    if (layer.pager) {
      layer.pager.textContent = "";
      layer.pager.dir = "ltr";
    }
    for (const el of layer.fields) {
      const field = el.dataset.field;
      if (field === "image") {
        if (photo) {
          el.src = photo;
          el.alt = slide.photo_alt || slide.name || "";
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
    if (layer.qr) showQr(layer.qr, slide.qr);
  }

  // The QR code of the story's phone page. One that cannot load (the server is gone, the story
  // was just withdrawn, a preview of a story not yet approved) is hidden, never shown broken.
  function showQr(figure, url) {
    const img = figure.querySelector("img");
    img.onerror = () => {
      if (img.getAttribute("src") === url) figure.hidden = true;
    };
    if (url) img.src = url;
    else img.removeAttribute("src");
    figure.hidden = !url;
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

  function direction(lang) {
    try {
      const locale = new Intl.Locale(lang);
      const info = locale.getTextInfo ? locale.getTextInfo() : locale.textInfo;
      return (info && info.direction) || "auto";
    } catch {
      return "auto"; // not a language tag: let the text decide
    }
  }

  // ---- text fitting and pages -------------------------------------------------------------
  const fits = (box) =>
    box.scrollHeight <= box.clientHeight && box.scrollWidth <= box.clientWidth;

  // The theme's CSS keeps every size at or above its floor (body text >= 3.5 % of the screen's
  // shorter side) whatever --fit is. A story that fits gets the largest --fit at which it does,
  // on one page. One that does not fit even at the floors is split into pages at --fit 0:
  // each page as many whole sentences as fit, or words when one sentence is too long.
  // Returns the --fit value and the pages ([{content, ms}], one entry for a one-page story).
  function paginate(layer, lang) {
    const box = layer.box;
    const single = (fit) => ({ fit, pages: [{ content: null, ms: 0 }] });
    if (!box) return single("1");
    box.style.setProperty("--fit", "1");
    if (fits(box)) return single("1");
    box.style.setProperty("--fit", "0");
    if (fits(box)) {
      let lo = 0;
      let hi = 1;
      for (let i = 0; i < FIT_STEPS; i += 1) {
        const mid = (lo + hi) / 2;
        box.style.setProperty("--fit", String(mid));
        if (fits(box)) lo = mid;
        else hi = mid;
      }
      box.style.setProperty("--fit", String(lo));
      return single(String(lo));
    }
    const story = layer.story;
    if (!story || !layer.pager) return single("0");
    layer.pager.textContent = "9/9"; // measured with the page number in place
    const source = document.createDocumentFragment();
    source.append(...story.childNodes);
    const text = new TextMap(source);
    if (!text.length) return single("0");
    story.replaceChildren();
    if (!fits(box)) return single("0"); // not even the name and quote fit: nothing to split
    const stops = BREAKS.map((granularity) => text.stops(granularity, lang));
    const pages = [];
    for (let from = 0; from < text.length; ) {
      const page = (to) => text.slice(from, to);
      const fitting = (to) => {
        story.replaceChildren(page(to));
        return fits(box);
      };
      let to = -1;
      for (const candidates of stops) {
        to = farthest(candidates.filter((at) => at > from), fitting);
        if (to > 0) break;
      }
      if (to < 0) to = stops[2].find((at) => at > from) || text.length; // a glyph per page
      pages.push({ content: page(to), words: text.words(from, to, lang) });
      from = text.skipSpace(to);
    }
    story.replaceChildren(pages[0].content.cloneNode(true));
    // Each page stays for its words at reading_wpm; the first also for the name and quote.
    const quoteWords = countWords(layer.box.querySelector('[data-field="quote"]'), lang);
    for (const [i, p] of pages.entries()) {
      const words = p.words + (i === 0 ? quoteWords : 0);
      const reading = (words / config.reading_wpm) * 60000 + (i === 0 ? NAME_MS : 0);
      p.ms = Math.ceil(Math.max(config.slide_min_ms, reading));
    }
    return { fit: "0", pages };
  }

  // The last of `candidates` (ascending) for which `ok` holds, by bisection; -1 if none.
  function farthest(candidates, ok) {
    let lo = -1;
    let hi = candidates.length;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (ok(candidates[mid])) lo = mid;
      else hi = mid;
    }
    return lo >= 0 ? candidates[lo] : -1;
  }

  function countWords(el, lang) {
    if (!el || !el.textContent) return 0;
    const segments = new Intl.Segmenter(lang || undefined, { granularity: "word" });
    let n = 0;
    for (const s of segments.segment(el.textContent)) if (s.isWordLike) n += 1;
    return n;
  }

  // The story's text as one string, with a line break between blocks, so Intl.Segmenter
  // finds sentence, word and grapheme boundaries across paragraphs and inline markup; and
  // slices of it back as DOM, each inside clones of its paragraphs and lists.
  class TextMap {
    constructor(root) {
      this.root = root;
      this.nodes = [];
      this.starts = [];
      let text = "";
      let block = null;
      const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const parent = node.parentNode.closest ? node.parentNode.closest(BLOCKS) : null;
        if (text && parent !== block) text += "\n";
        block = parent;
        this.nodes.push(node);
        this.starts.push(text.length);
        text += node.data;
      }
      this.text = text;
      this.length = text.length;
    }

    stops(granularity, lang) {
      const segmenter = new Intl.Segmenter(lang || undefined, { granularity });
      const out = [];
      for (const { index } of segmenter.segment(this.text)) if (index > 0) out.push(index);
      out.push(this.length);
      return out;
    }

    words(from, to, lang) {
      const segmenter = new Intl.Segmenter(lang || undefined, { granularity: "word" });
      let n = 0;
      for (const s of segmenter.segment(this.text.slice(from, to))) if (s.isWordLike) n += 1;
      return n;
    }

    skipSpace(at) {
      while (at < this.length && /\s/.test(this.text[at])) at += 1;
      return at;
    }

    position(at) {
      let i = this.nodes.length - 1;
      while (i > 0 && this.starts[i] > at) i -= 1;
      return [this.nodes[i], Math.min(Math.max(at - this.starts[i], 0), this.nodes[i].length)];
    }

    slice(from, to) {
      while (to > from && /\s/.test(this.text[to - 1])) to -= 1; // a page ends on its last word
      const range = document.createRange();
      range.setStart(...this.position(from));
      range.setEnd(...this.position(to));
      let content = range.cloneContents();
      let node = range.commonAncestorContainer;
      if (node.nodeType === Node.TEXT_NODE) node = node.parentNode;
      for (; node && node !== this.root; node = node.parentNode) {
        const wrapper = node.cloneNode(false);
        wrapper.append(content);
        content = wrapper;
      }
      const fragment = document.createDocumentFragment();
      fragment.append(content);
      return fragment;
    }
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
    const sent = plays.splice(0, MAX_PLAYS);
    fetch(config.heartbeat, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ slide: kiosk.slide, version: kiosk.version, plays: sent }),
      keepalive: true,
    }).then(
      (res) => res.status >= 500 && keepPlays(sent),
      () => keepPlays(sent), // the admin page shows a screen that stops beating
    );
  }

  // ---- proof of play ----------------------------------------------------------------------
  // Each slide or page from the moment it came on until something replaced it (or the screen
  // went dark or empty), less the time the page was hidden, goes with the next heartbeat:
  // counts only. A preview is a moderator's look, not a showing.
  const MAX_PLAYS = 200; // as display.MAX_PLAYS: a lost server keeps the newest
  const plays = [];
  let playing = null; // {id, revision, page, ms, since}: the slide or page on screen now

  function startPlay(slide, page) {
    endPlay();
    if (preview) return;
    const since = document.hidden ? null : Date.now();
    playing = { id: slide.id, revision: slide.revision, page, ms: 0, since };
  }

  function endPlay() {
    if (!playing) return;
    pausePlay();
    const { id, revision, page, ms } = playing;
    playing = null;
    if (ms >= 100) keepPlays([{ id, revision, page, seconds: Math.round(ms / 100) / 10 }]);
  }

  function pausePlay() {
    if (playing && playing.since !== null) {
      playing.ms += Date.now() - playing.since;
      playing.since = null;
    }
  }

  function keepPlays(more) {
    plays.push(...more);
    plays.splice(0, Math.max(plays.length - MAX_PLAYS, 0));
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
  // Calls are chained: an older playlist's additions cannot land after a newer one's pruning.
  let offline = Promise.resolve();
  function keepOffline(playlist) {
    offline = offline.then(() => storeOffline(playlist));
  }

  async function storeOffline(playlist) {
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
      const texts = playlist.slides.map((s) => new URL(SLIDES + s.hash, location.href).href);
      const keep = new Set([...assets, ...images, ...texts]);
      for (const request of await cache.keys()) {
        const path = new URL(request.url).pathname;
        if (/^\/(media|static|themes|api\/slides)\//.test(path) && !keep.has(request.url)) {
          await cache.delete(request);
        }
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
    document.addEventListener("visibilitychange", () => {
      if (document.hidden) pausePlay();
      else if (playing && playing.since === null) playing.since = Date.now();
    });
    window.addEventListener("pagehide", () => {
      endPlay(); // a reload at a slide boundary: what was shown goes with a last beat
      heartbeat();
    });
    setInterval(heartbeat, config.heartbeat_ms);
  }
})();
