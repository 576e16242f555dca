/**
 * The history panel: the caller's past sessions (`GET /v1/audio/transcriptions/stream`,
 * newest first, "Load more" follows `next_cursor`), and a viewer for one: the
 * recording in an audio player, the live and enhanced transcripts side by side
 * with the words the enhancement changed highlighted (a word-level LCS diff),
 * a click on a segment of either seeks the player there, and downloads (SRT,
 * WebVTT, TXT, JSON) of either version.
 *
 * A classic script after app.js: it uses app.js's globals (STREAM_PATH,
 * authHeaders, describeHttpError, notify, clock, code) and listens for its
 * "sessions-changed" event to refresh the list.
 */
"use strict";

/** Above this many word pairs the diff is skipped (it is quadratic); the transcripts still show. */
const DIFF_MAX_CELLS = 4_000_000;
const HISTORY_PAGE = 10;

const hist = {
  list: $("history-list"),
  empty: $("history-empty"),
  more: /** @type {HTMLButtonElement} */ ($("history-more")),
  refresh: /** @type {HTMLButtonElement} */ ($("history-refresh")),
  viewer: $("viewer"),
  title: $("viewer-title"),
  meta: $("viewer-meta"),
  player: /** @type {HTMLAudioElement} */ ($("player")),
  version: /** @type {HTMLSelectElement} */ ($("download-version")),
  downloads: $("downloads"),
  live: $("compare-live"),
  enhanced: $("compare-enhanced"),
  diffNote: $("diff-note"),
};
let historyCursor = null;
let openSessionId = null;
let audioUrl = null;

const apiKey = () => /** @type {HTMLInputElement} */ ($("api-key")).value.trim();

/** GET with the page's key; throws the service's error message. */
async function apiGet(path) {
  const res = await fetch(path, { headers: authHeaders(apiKey()) });
  if (!res.ok) {
    const e = await describeHttpError(res);
    throw Object.assign(new Error(e.message), { status: e.status });
  }
  return res;
}

async function loadHistory(reset) {
  if (reset) historyCursor = null;
  const query = new URLSearchParams({ limit: String(HISTORY_PAGE) });
  if (historyCursor) query.set("cursor", historyCursor);
  try {
    const page = await (await apiGet(`${STREAM_PATH}?${query}`)).json();
    if (reset) hist.list.replaceChildren();
    for (const item of page.sessions) hist.list.append(historyItem(item));
    historyCursor = page.next_cursor;
    hist.more.hidden = !historyCursor;
    hist.empty.hidden = hist.list.children.length > 0;
  } catch (err) {
    hist.empty.hidden = false;
    hist.empty.textContent = err.status === 401 ? "Enter an API key to see your sessions." : `Could not load the sessions: ${err.message}`;
  }
}

function historyItem(item) {
  const li = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "history-item";
  button.dataset.sessionId = item.session_id;
  if (item.session_id === openSessionId) button.setAttribute("aria-current", "true");
  const when = document.createElement("strong");
  when.textContent = new Date(item.created_at).toLocaleString();
  const what = document.createElement("span");
  what.className = "meta";
  const enh = item.enhancement.status === "not_requested" ? "" : ` · enhancement ${item.enhancement.status}`;
  what.textContent = `${Number(item.duration_seconds).toFixed(1)} s · ${item.status}${enh}`;
  button.append(when, what);
  button.addEventListener("click", () => void openSession(item));
  li.append(button);
  return li;
}

async function openSession(item) {
  openSessionId = item.session_id;
  for (const b of hist.list.querySelectorAll(".history-item")) {
    if (b instanceof HTMLElement) b.toggleAttribute("aria-current", b.dataset.sessionId === item.session_id);
  }
  hist.viewer.hidden = false;
  hist.title.replaceChildren("Session ", code(item.session_id));
  hist.meta.textContent = `${new Date(item.created_at).toLocaleString()} · ${Number(item.duration_seconds).toFixed(1)} s · ${item.status}`;
  hist.live.replaceChildren();
  hist.enhanced.replaceChildren();
  hist.diffNote.textContent = "";
  const base = `${STREAM_PATH}/${encodeURIComponent(item.session_id)}`;
  const [record, enhancement] = await Promise.all([
    apiGet(base).then((r) => r.json()).catch((err) => (notify("error", "Cannot read the session:", err.message), null)),
    apiGet(`${base}/enhancement`).then((r) => r.json()).catch(() => null),
  ]);
  if (openSessionId !== item.session_id) return;
  const liveSegments = record && Array.isArray(record.segments) ? record.segments : [];
  const result = enhancement && enhancement.status === "completed" ? enhancement.transcript : null;
  hist.version.value = result ? "enhanced" : "live";
  /** @type {HTMLOptionElement} */ (hist.version.querySelector('option[value="enhanced"]')).disabled = !result;
  renderComparison(liveSegments, result);
  if (!result) {
    const status = enhancement ? enhancement.status : "unknown";
    hist.diffNote.textContent = status === "not_requested" ? "No enhancement was requested for this session." : `Enhancement: ${status}.`;
  }
  await loadAudio(item, base);
}

/** The recording: streamed by URL without a key; with one (headers cannot go on <audio>), fetched first. */
async function loadAudio(item, base) {
  if (audioUrl) URL.revokeObjectURL(audioUrl);
  audioUrl = null;
  if (!item.recording_available) {
    hist.player.removeAttribute("src");
    return;
  }
  if (!apiKey()) {
    hist.player.src = `${base}/audio`;
    return;
  }
  try {
    audioUrl = URL.createObjectURL(await (await apiGet(`${base}/audio`)).blob());
    hist.player.src = audioUrl;
  } catch (err) {
    notify("warning", "Cannot load the recording:", err.message);
  }
}

/* ------------------------------ diff ------------------------------ */

const norm = (word) => word.toLowerCase().replace(/[^\p{L}\p{N}']+/gu, "");

/** Which words of `a` and of `b` are outside their longest common subsequence (compared normalized). */
function changedWords(a, b) {
  const changedA = new Array(a.length).fill(true);
  const changedB = new Array(b.length).fill(true);
  if (a.length * b.length > DIFF_MAX_CELLS) return null;
  const na = a.map(norm);
  const nb = b.map(norm);
  const width = b.length + 1;
  const lcs = new Uint32Array((a.length + 1) * width);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i * width + j] = na[i] === nb[j] ? lcs[(i + 1) * width + j + 1] + 1 : Math.max(lcs[(i + 1) * width + j], lcs[i * width + j + 1]);
    }
  }
  for (let i = 0, j = 0; i < a.length && j < b.length; ) {
    if (na[i] === nb[j]) {
      changedA[i++] = false;
      changedB[j++] = false;
    } else if (lcs[(i + 1) * width + j] >= lcs[i * width + j + 1]) i++;
    else j++;
  }
  return { changedA, changedB };
}

function renderComparison(liveSegments, result) {
  const split = (text) => String(text || "").split(/\s+/).filter(Boolean);
  const liveWords = liveSegments.map((s) => split(s.text));
  const enhancedSegments = result ? result.segments : [];
  const enhancedWords = enhancedSegments.map((s) => split(s.text));
  const diff = result ? changedWords(liveWords.flat(), enhancedWords.flat()) : null;
  if (result && !diff) hist.diffNote.textContent = "Too long to compare word by word.";
  const names = new Map((result ? result.speakers : []).map((s) => [s.id, s.name || s.id]));
  fill(hist.live, liveSegments, liveWords, diff && diff.changedA, () => null, "deleted");
  fill(hist.enhanced, enhancedSegments, enhancedWords, diff && diff.changedB, (s) => names.get(s.speaker) || s.speaker, "changed");
  if (diff) {
    const words = (n) => `${n} word${n === 1 ? "" : "s"}`;
    const removed = diff.changedA.filter(Boolean).length;
    const added = diff.changedB.filter(Boolean).length;
    hist.diffNote.textContent = `The enhancement dropped or replaced ${words(removed)} of the live text and wrote ${words(added)} anew (highlighted). Click a segment to play it.`;
  }
}

function fill(list, segments, words, changed, speakerOf, changedClass) {
  list.replaceChildren();
  let at = 0;
  segments.forEach((seg, k) => {
    const li = document.createElement("li");
    li.className = "seekable";
    li.tabIndex = 0;
    li.dataset.start = String(seg.start);
    const time = document.createElement("time");
    time.textContent = `${clock(seg.start)}–${clock(seg.end)}`;
    const body = document.createElement("span");
    body.className = "text";
    const who = speakerOf(seg);
    if (who) {
      const name = document.createElement("b");
      name.className = "who-name";
      name.textContent = `${who}: `;
      body.append(name);
    }
    words[k].forEach((word, i) => {
      if (i > 0) body.append(" ");
      if (changed && changed[at + i]) {
        const mark = document.createElement("mark");
        mark.className = changedClass;
        mark.textContent = word;
        body.append(mark);
      } else body.append(word);
    });
    at += words[k].length;
    li.append(time, body);
    const seek = () => {
      hist.player.currentTime = Number(seg.start) || 0;
      void hist.player.play().catch(() => undefined);
      for (const other of document.querySelectorAll(".compare li.playing")) other.classList.remove("playing");
      li.classList.add("playing");
    };
    li.addEventListener("click", seek);
    li.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        seek();
      }
    });
    list.append(li);
  });
}

/* ---------------------------- downloads ---------------------------- */

async function download(format) {
  if (!openSessionId) return;
  const path = `${STREAM_PATH}/${encodeURIComponent(openSessionId)}/transcript?version=${hist.version.value}&format=${format}`;
  try {
    const res = await apiGet(path);
    const name = /filename="([^"]+)"/.exec(res.headers.get("content-disposition") || "");
    const a = document.createElement("a");
    a.href = URL.createObjectURL(await res.blob());
    a.download = name ? name[1] : `${openSessionId}.${format}`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  } catch (err) {
    notify("error", `Cannot download ${format.toUpperCase()}:`, err.message);
  }
}

for (const button of hist.downloads.querySelectorAll("button[data-format]")) {
  if (button instanceof HTMLElement) button.addEventListener("click", () => void download(button.dataset.format || "json"));
}
hist.more.addEventListener("click", () => void loadHistory(false));
hist.refresh.addEventListener("click", () => void loadHistory(true));
window.addEventListener("sessions-changed", () => void loadHistory(true));
void loadHistory(true);
