/**
 * edge-transcribe browser page: microphone → AudioWorklet (16 kHz s16le mono,
 * 100 ms frames) → WebSocket `/v1/audio/transcriptions/stream`; live text as
 * it arrives; after `session.end` the enhancement is pushed on the same socket
 * (polled only when the socket was lost) and shown beside the
 * live transcript. Plain JavaScript, no build step. Protocol: README.md
 * "WebSocket protocol" and /openapi.json.
 */
"use strict";

const TARGET_RATE = 16000;
const FRAME_MS = 100;
const STREAM_PATH = "/v1/audio/transcriptions/stream";
const POLL_MS = 1000;
/** Give up waiting for `session.end` after `end` was sent (the server waits ENGINE_END_TIMEOUT_MS itself). */
const END_TIMEOUT_MS = 30000;

/**
 * Stream parameters the page's own URL may set, e.g. `/?language=en&model=…`
 * (the checkboxes set the enhance_* ones). `?capture=native` keeps the
 * AudioContext at the device rate so the worklet does the resampling.
 */
const PASS_THROUGH = ["model", "language", "num_speakers", "word_timestamps", "interim_results", "enable_vad"];
const pageQuery = new URLSearchParams(location.search);
const nativeCapture = pageQuery.get("capture") === "native";

const CLOSE_REASONS = {
  1000: "closed normally",
  1001: "the server is going away (restart or deploy)",
  1006: "the connection was lost without a close frame (network problem, proxy, or the server stopped)",
  1008: "the server refused a message (policy)",
  1011: "the server hit an unexpected condition",
  4000: "closed after being idle too long (idle_timeout)",
  4001: "the maximum session length was reached (max_duration)",
  4003: "internal server error",
  4004: "a newer connection took the session over",
};
/** Closes after which reconnecting cannot help. */
const FINAL_CLOSES = new Set([4000, 4001, 4003, 4004]);
/** A dropped session is resumable for the server's grace period (60 s by default); stop trying a little before. */
const RESUME_WINDOW_MS = 55_000;

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const ui = {
  form: /** @type {HTMLFormElement} */ ($("session-form")),
  enhance: /** @type {HTMLInputElement} */ ($("enhance")),
  cleanup: /** @type {HTMLInputElement} */ ($("cleanup")),
  emotions: /** @type {HTMLInputElement} */ ($("emotions")),
  key: /** @type {HTMLInputElement} */ ($("api-key")),
  start: /** @type {HTMLButtonElement} */ ($("start")),
  stop: /** @type {HTMLButtonElement} */ ($("stop")),
  status: $("status"),
  statusText: $("status-text"),
  level: $("level-bar"),
  sessionInfo: $("session-info"),
  messages: $("messages"),
  live: $("live"),
  partial: $("partial"),
  liveEmpty: $("live-empty"),
  speech: $("speech"),
  enhancementStatus: $("enhancement-status"),
  enhancementDetail: $("enhancement-detail"),
  speakers: $("speakers"),
  enhanced: $("enhanced"),
  enhancedEmpty: $("enhanced-empty"),
};

/** Everything about the current session; replaced on every Start. */
let session = null;

/* ------------------------------------------------------------------ */
/* Options                                                             */
/* ------------------------------------------------------------------ */

function syncOptions() {
  const on = ui.enhance.checked;
  for (const box of [ui.cleanup, ui.emotions]) {
    box.disabled = !on || Boolean(session && session.active);
    if (!on) box.checked = false;
  }
}
ui.enhance.addEventListener("change", syncOptions);
syncOptions();

/* ------------------------------------------------------------------ */
/* Messages and status                                                 */
/* ------------------------------------------------------------------ */

function setStatus(state, text) {
  ui.status.dataset.state = state;
  ui.statusText.textContent = text;
}

/** @param {"error"|"warning"|"info"} kind */
function notify(kind, title, detail) {
  const box = document.createElement("div");
  box.className = `msg ${kind}`;
  box.setAttribute("role", kind === "error" ? "alert" : "status");
  const p = document.createElement("p");
  const strong = document.createElement("strong");
  strong.textContent = title;
  p.append(strong);
  if (detail) p.append(` ${detail}`);
  const close = document.createElement("button");
  close.type = "button";
  close.setAttribute("aria-label", "Dismiss");
  close.textContent = "×";
  close.addEventListener("click", () => box.remove());
  box.append(p, close);
  ui.messages.append(box);
  return box;
}

function clearMessages() {
  ui.messages.replaceChildren();
}

/** The service's error JSON `{"error":{"code","message","param?"}}`, or the raw body. */
async function describeHttpError(res) {
  const text = await res.text().catch(() => "");
  let message = text.trim() || res.statusText || "no details";
  let param = null;
  try {
    const body = JSON.parse(text);
    if (body && body.error && typeof body.error.message === "string") {
      message = body.error.message;
      param = body.error.param || null;
    }
  } catch {
    // Not JSON: keep the text.
  }
  return { status: res.status, message, param };
}

/** Open the "API key" section and put the cursor there (after the service asked for credentials). */
function revealKeyField() {
  const details = ui.key.closest("details");
  if (details) details.open = true;
  setTimeout(() => ui.key.focus(), 0);
}

function authHeaders(key) {
  return key ? { Authorization: `Bearer ${key}` } : {};
}

/* ------------------------------------------------------------------ */
/* Start                                                               */
/* ------------------------------------------------------------------ */

ui.form.addEventListener("submit", (event) => {
  event.preventDefault();
  void start();
});
ui.stop.addEventListener("click", () => void stop());

async function start() {
  if (session && session.active) return;
  stopPolling();
  clearMessages();
  resetTranscripts();
  const key = ui.key.value.trim();
  const options = {
    enhance_on_end: ui.enhance.checked,
    enhance_llm_cleanup: ui.enhance.checked && ui.cleanup.checked,
    enhance_emotions: ui.enhance.checked && ui.emotions.checked,
    // The enhanced result is pushed on this socket after session.end; polling is only the fallback.
    await_enhancement: ui.enhance.checked,
  };
  session = {
    active: true,
    key,
    options,
    ws: null,
    audio: null,
    opened: false,
    sessionId: null,
    ended: false,
    ending: false,
    fatalShown: false,
    queue: [],
    finals: 0,
    endTimer: 0,
    bytesSent: 0,
    /** {sessionId, jobId} while the enhanced result is still owed on the socket. */
    awaiting: null,
    /** Resume (README "Resume"): the secret from session.begin, and the audio the server has not acknowledged. */
    resumeToken: null,
    pending: [],
    acked: 0,
    reconnecting: null,
  };
  const current = session;
  setControls("starting");

  try {
    // 1. Credentials: trade the key for a one-use token so it never travels in a URL.
    let token = null;
    if (key) {
      setStatus("connecting", "Getting a session token…");
      token = await fetchToken(key);
    }
    // 2. Microphone, before the session exists: a refused microphone leaves no empty session behind.
    setStatus("connecting", "Waiting for the microphone…");
    current.audio = await startAudio((frame, level) => onFrame(current, frame, level));
    // 3. The session.
    setStatus("connecting", "Connecting…");
    openSocket(current, token);
  } catch (err) {
    fail(current, err);
  }
}

/** `POST /v1/auth/tokens` → `{token}`; null when the service has no auth (404, or `token: null`). */
async function fetchToken(key) {
  let res;
  try {
    res = await fetch("/v1/auth/tokens", { method: "POST", headers: authHeaders(key) });
  } catch (err) {
    throw new UiError("Cannot reach the service.", String(err && err.message ? err.message : err));
  }
  if (res.status === 404) {
    notify("info", "No token endpoint on this service;", "connecting without a token.");
    return null;
  }
  if (!res.ok) {
    const e = await describeHttpError(res);
    if (e.status === 401 || e.status === 403) {
      revealKeyField();
      throw new UiError(`The API key was refused (HTTP ${e.status}):`, `${e.message}. Check the key.`);
    }
    throw new UiError(`Getting a session token failed (HTTP ${e.status}):`, e.message);
  }
  const body = await res.json().catch(() => ({}));
  return typeof body.token === "string" && body.token ? body.token : null;
}

class UiError extends Error {
  constructor(title, detail) {
    super(`${title} ${detail || ""}`.trim());
    this.title = title;
    this.detail = detail || "";
  }
}

function streamQuery(options, token) {
  const q = new URLSearchParams({ encoding: "pcm_s16le", sample_rate: String(TARGET_RATE) });
  for (const name of PASS_THROUGH) {
    const value = pageQuery.get(name);
    if (value !== null) q.set(name, value);
  }
  for (const [name, on] of Object.entries(options)) if (on) q.set(name, "true");
  if (token) q.set("token", token);
  return q;
}

function openSocket(current, token, resume = false) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const url = resume
    ? `${scheme}//${location.host}${STREAM_PATH}/${encodeURIComponent(current.sessionId)}/resume?${resumeQuery(current, token)}`
    : `${scheme}//${location.host}${STREAM_PATH}?${streamQuery(current.options, token)}`;
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  current.ws = ws;

  ws.addEventListener("open", () => {
    current.opened = true;
    if (resume) return; // session.resumed says where to continue from
    setStatus("connecting", "Connected, starting the session…");
    for (const frame of current.queue.splice(0)) send(current, frame);
  });
  ws.addEventListener("message", (event) => {
    if (typeof event.data !== "string") return;
    let msg;
    try {
      msg = JSON.parse(event.data);
    } catch {
      notify("warning", "The server sent something that is not JSON.", "");
      return;
    }
    onMessage(current, msg);
  });
  ws.addEventListener("close", (event) => {
    if (current.ws === ws) void onClose(current, event);
  });
}

function resumeQuery(current, token) {
  const q = new URLSearchParams({ resume_token: current.resumeToken });
  if (token) q.set("token", token);
  return q;
}

/**
 * The connection dropped mid-session: reconnect with backoff and resume (the
 * server keeps the session for its grace period). Audio captured meanwhile
 * waits in `pending` with everything not yet acknowledged.
 */
async function reconnect(current, code) {
  const started = Date.now();
  current.reconnecting = { attempts: 0 };
  setStatus("connecting", `Connection lost (code ${code}) — reconnecting…`);
  while (current.active && Date.now() - started < RESUME_WINDOW_MS) {
    current.reconnecting.attempts++;
    await new Promise((r) => setTimeout(r, Math.min(4000, 250 * 2 ** (current.reconnecting.attempts - 1))));
    try {
      const token = current.key ? await fetchToken(current.key) : null;
      const opened = await new Promise((resolve) => {
        openSocket(current, token, true);
        const ws = current.ws;
        ws.addEventListener("message", () => resolve(true), { once: true });
        ws.addEventListener("close", () => resolve(false), { once: true });
      });
      if (opened) return;
    } catch {
      // The service is not back yet; try again.
    }
    setStatus("connecting", `Connection lost (code ${code}) — reconnecting… (attempt ${current.reconnecting.attempts + 1})`);
  }
  current.reconnecting = null;
  return giveUp(current, { code, reason: "could not reconnect" });
}

/* ------------------------------------------------------------------ */
/* Audio                                                               */
/* ------------------------------------------------------------------ */

/**
 * Microphone → pcm-16k worklet. Asks for a 16 kHz AudioContext so the browser
 * resamples; where a microphone cannot feed a context at another rate
 * (Firefox), falls back to the device rate and the worklet resamples.
 */
async function startAudio(onPcm) {
  if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw new UiError("Microphone capture needs a secure page.", "Open it over https, or at http://localhost / 127.0.0.1.");
  }
  if (typeof AudioWorkletNode === "undefined") {
    throw new UiError("This browser has no AudioWorklet.", "Use a current Chrome, Edge, Firefox or Safari.");
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
  } catch (err) {
    const name = err && err.name;
    if (name === "NotAllowedError" || name === "SecurityError") {
      throw new UiError("Microphone access was denied.", "Allow it in the browser's site settings and press Start again.");
    }
    if (name === "NotFoundError" || name === "OverconstrainedError") throw new UiError("No microphone was found.", "Connect one and press Start again.");
    if (name === "NotReadableError") throw new UiError("The microphone is busy or unavailable.", "Close other programs using it and try again.");
    throw new UiError("Could not open the microphone:", String(err && err.message ? err.message : err));
  }

  let ctx = null;
  let source = null;
  try {
    if (nativeCapture) throw new Error("capture=native");
    ctx = new AudioContext({ sampleRate: TARGET_RATE, latencyHint: "interactive" });
    source = ctx.createMediaStreamSource(stream);
  } catch {
    if (ctx) void ctx.close();
    ctx = new AudioContext({ latencyHint: "interactive" });
    source = ctx.createMediaStreamSource(stream);
  }
  try {
    await ctx.audioWorklet.addModule("pcm-worklet.js");
    const node = new AudioWorkletNode(ctx, "pcm-16k", {
      numberOfInputs: 1,
      numberOfOutputs: 1,
      outputChannelCount: [1],
      channelCount: 1,
      channelCountMode: "explicit",
      processorOptions: { targetRate: TARGET_RATE, frameSamples: (TARGET_RATE * FRAME_MS) / 1000 },
    });
    let flushed = null;
    node.port.onmessage = (event) => {
      const data = event.data;
      if (data.type === "frame") onPcm(data.pcm, data.level);
      else if (data.type === "flushed" && flushed) flushed();
    };
    // A silent sink keeps the graph pulling the worklet in every browser.
    const mute = ctx.createGain();
    mute.gain.value = 0;
    source.connect(node).connect(mute).connect(ctx.destination);
    await ctx.resume();
    return {
      ctx,
      stream,
      node,
      rate: ctx.sampleRate,
      /** Post the worklet's partly filled last frame, then stop everything. */
      async stop() {
        await new Promise((resolve) => {
          flushed = resolve;
          node.port.postMessage("flush");
          setTimeout(resolve, 300);
        });
        for (const track of stream.getTracks()) track.stop();
        source.disconnect();
        node.disconnect();
        await ctx.close().catch(() => undefined);
      },
    };
  } catch (err) {
    for (const track of stream.getTracks()) track.stop();
    void ctx.close();
    throw new UiError("Audio processing could not start:", String(err && err.message ? err.message : err));
  }
}

function onFrame(current, pcm, level) {
  ui.level.style.width = `${Math.min(100, Math.round(Math.sqrt(level) * 140))}%`;
  if (!current.active || current.ending) return;
  if (current.opened) send(current, pcm);
  else if (current.queue.length < 50) current.queue.push(pcm);
}

function send(current, data) {
  if (typeof data !== "string") {
    // Kept until the server acknowledges it, so a reconnect can send it again.
    current.pending.push({ at: current.bytesSent, bytes: data });
    current.bytesSent += data.byteLength;
  }
  const ws = current.ws;
  if (!ws || ws.readyState !== WebSocket.OPEN || current.reconnecting) return;
  ws.send(data);
}

/** The server holds the stream up to `bytes`: forget what is below. */
function acknowledge(current, bytes) {
  current.acked = Math.max(current.acked, bytes);
  while (current.pending.length && current.pending[0].at + current.pending[0].bytes.byteLength <= current.acked) current.pending.shift();
}

/* ------------------------------------------------------------------ */
/* Server messages                                                     */
/* ------------------------------------------------------------------ */

function onMessage(current, msg) {
  switch (msg.type) {
    case "audio.ack":
      acknowledge(current, msg.bytes);
      return;
    case "session.resumed": {
      // Everything from the byte the server holds up to, again; then `end` if Stop was pressed meanwhile.
      acknowledge(current, msg.bytes_received);
      current.reconnecting = null;
      for (const { at, bytes } of current.pending) current.ws.send(at >= msg.bytes_received ? bytes : bytes.slice(msg.bytes_received - at));
      if (current.ending) current.ws.send(JSON.stringify({ type: "end" }));
      setStatus(current.ending ? "finishing" : "listening", current.ending ? "Reconnected; finishing…" : "Reconnected — listening.");
      notify("info", "Reconnected:", `the session goes on (the server had ${msg.bytes_received} bytes of audio; the rest was sent again).`);
      return;
    }
    case "session.begin": {
      current.sessionId = msg.session_id;
      current.resumeToken = msg.resume_token || null;
      const a = current.audio;
      const capture = !a ? "" : a.rate === TARGET_RATE ? "16 kHz capture" : `${a.rate} Hz capture, resampled to 16 kHz in the worklet`;
      setStatus("listening", "Listening… speak now.");
      setControls("running");
      ui.sessionInfo.innerHTML = "";
      ui.sessionInfo.append("Session ", code(msg.session_id), ` · ${msg.config && msg.config.model ? msg.config.model : "default model"} · ${capture}`);
      if (msg.enhancement && msg.enhancement.requested) setEnhancement("requested", "will run when you stop");
      return;
    }
    case "vad.speech_start":
      ui.speech.hidden = false;
      return;
    case "vad.speech_end":
      ui.speech.hidden = true;
      return;
    case "transcript.partial":
      ui.partial.textContent = msg.text;
      ui.liveEmpty.hidden = true;
      return;
    case "transcript.final":
      ui.partial.textContent = "";
      appendLine(ui.live, msg.start, msg.end, textSpan(msg.text));
      current.finals++;
      ui.liveEmpty.hidden = true;
      return;
    case "warning":
      notify("warning", `Warning (${msg.code}):`, msg.message);
      return;
    case "error":
      if (msg.recoverable) {
        notify("warning", `Server error (${msg.code}), the session continues:`, msg.message);
      } else {
        current.fatalShown = true;
        notify("error", `The session stopped (${msg.code}):`, msg.message);
      }
      return;
    case "session.end":
      onSessionEnd(current, msg);
      return;
    case "enhancement.status":
      setEnhancement(msg.status, [msg.stage ? `stage: ${msg.stage}` : "", `job ${msg.job_id}`].filter(Boolean).join(" · "));
      return;
    case "enhancement.completed":
      current.awaiting = null;
      setEnhancement("completed", `job ${msg.job_id}`);
      renderEnhanced(msg.transcript || {});
      sessionsChanged();
      return;
    case "enhancement.failed":
      current.awaiting = null;
      enhancementFailed(msg.error);
      sessionsChanged();
      return;
    case "enhancement.timeout":
      // The server stopped waiting (the job goes on): poll it instead.
      if (current.awaiting) startPolling(current, current.awaiting.sessionId, current.awaiting.jobId);
      current.awaiting = null;
      return;
    default:
      return;
  }
}

function onSessionEnd(current, msg) {
  current.ended = true;
  clearTimeout(current.endTimer);
  ui.partial.textContent = "";
  ui.speech.hidden = true;
  const seconds = Number(msg.total_duration || 0).toFixed(1);
  setStatus("ended", `Session ended: ${seconds} s of audio, ${msg.segments ? msg.segments.length : 0} segments.`);
  if (!current.finals) ui.liveEmpty.textContent = "No speech was recognised in this session.";
  ui.liveEmpty.hidden = current.finals > 0;
  if (msg.enhancement_job_id) {
    current.awaiting = { sessionId: msg.session_id, jobId: msg.enhancement_job_id };
    setEnhancement("pending", `job ${msg.enhancement_job_id}`);
    ui.enhancedEmpty.textContent = "Waiting for the enhancement…";
  } else {
    setEnhancement("not_requested", "not requested");
  }
  sessionsChanged();
}

/** Tell the history panel (history.js) that the list changed. */
function sessionsChanged() {
  window.dispatchEvent(new Event("sessions-changed"));
}

function enhancementFailed(error) {
  const err = error || {};
  setEnhancement("failed", err.code || "");
  notify("error", `The enhancement failed${err.code ? ` (${err.code})` : ""}:`, err.message || "no details");
  ui.enhancedEmpty.textContent = "The enhancement failed; the live transcript and the recording are still available.";
}

async function onClose(current, event) {
  // Dropped mid-session (not after session.end, not a final close): resume instead of giving up.
  const resumable = current.active && current.opened && !current.ended && current.sessionId && current.resumeToken && !FINAL_CLOSES.has(event.code);
  if (resumable && !current.reconnecting) return reconnect(current, event.code);
  if (current.reconnecting) return; // a failed attempt; the reconnect loop goes on
  return giveUp(current, event);
}

async function giveUp(current, event) {
  const wasActive = current.active;
  current.active = false;
  clearTimeout(current.endTimer);
  if (current.audio) await current.audio.stop().catch(() => undefined);
  ui.level.style.width = "0";
  ui.speech.hidden = true;
  setControls("idle");
  if (current.awaiting) {
    // The socket was lost before the enhanced result came: poll for it instead.
    startPolling(current, current.awaiting.sessionId, current.awaiting.jobId);
    current.awaiting = null;
  }
  if (!wasActive) return;
  if (!current.opened) {
    // The browser hides the HTTP answer to a refused upgrade; ask again with plain HTTP to show why.
    setStatus("error", "Could not start the session.");
    await explainRefusal(current);
    return;
  }
  if (current.ended && event.code === 1000) return;
  const reason = CLOSE_REASONS[event.code] || "closed";
  if (!current.fatalShown) {
    notify("error", `Connection closed (code ${event.code}):`, `${reason}${event.reason ? ` — ${event.reason}` : ""}.`);
  }
  setStatus("error", `Disconnected (code ${event.code}).`);
  if (!current.ended && current.sessionId) {
    ui.sessionInfo.append(" · the recording so far is kept; the session is finalized by the server.");
  }
}

/** Why a WebSocket upgrade failed: the same URL without credentials-in-query, as a plain GET. */
async function explainRefusal(current) {
  const url = `${STREAM_PATH}?${streamQuery(current.options, null)}`;
  let res;
  try {
    res = await fetch(url, { headers: authHeaders(current.key) });
  } catch (err) {
    notify("error", "Cannot reach the service.", String(err && err.message ? err.message : err));
    return;
  }
  if (res.status === 426) {
    notify("error", "The WebSocket connection failed", "although the service accepts these parameters. A proxy may be blocking WebSockets, or the one-use token expired; press Start again.");
    return;
  }
  const e = await describeHttpError(res);
  if (e.status === 400) notify("error", `Invalid parameter${e.param ? ` “${e.param}”` : ""} (HTTP 400):`, e.message);
  else if (e.status === 401 || e.status === 403) {
    notify("error", `Not authorized (HTTP ${e.status}):`, `${e.message}. ${current.key ? "Check the API key." : "Enter an API key."}`);
    revealKeyField();
  }
  else if (e.status === 429) notify("error", "Too many sessions (HTTP 429):", e.message);
  else notify("error", `The service refused the session (HTTP ${e.status}):`, e.message);
}

/* ------------------------------------------------------------------ */
/* Stop                                                                */
/* ------------------------------------------------------------------ */

async function stop() {
  const current = session;
  if (!current || !current.active || current.ending) return;
  ui.stop.disabled = true;
  if (!current.opened) {
    // Nothing started yet: just give up.
    current.active = false;
    if (current.ws) current.ws.close(1000);
    if (current.audio) await current.audio.stop().catch(() => undefined);
    setControls("idle");
    setStatus("idle", "Stopped.");
    return;
  }
  setStatus("finishing", "Finishing: waiting for the last results…");
  // The worklet's last partial frame still goes out, then `end`.
  if (current.audio) await current.audio.stop().catch(() => undefined);
  current.ending = true;
  ui.level.style.width = "0";
  send(current, JSON.stringify({ type: "end" }));
  current.endTimer = setTimeout(() => {
    if (current.ended) return;
    notify("error", "No session.end from the server", `within ${END_TIMEOUT_MS / 1000} s; closing.`);
    current.fatalShown = true;
    current.ws.close(1000);
  }, END_TIMEOUT_MS);
}

function setControls(mode) {
  const running = mode !== "idle";
  ui.start.disabled = running;
  ui.stop.disabled = mode === "idle";
  ui.enhance.disabled = running;
  ui.key.disabled = running;
  syncOptions();
}

/* ------------------------------------------------------------------ */
/* Enhancement                                                         */
/* ------------------------------------------------------------------ */

let poll = null;

function stopPolling() {
  if (poll) clearTimeout(poll.timer);
  poll = null;
}

function startPolling(current, sessionId, jobId) {
  stopPolling();
  const mine = { timer: 0, failures: 0 };
  poll = mine;
  setEnhancement("pending", `job ${jobId}`);
  ui.enhancedEmpty.textContent = "Waiting for the enhancement…";
  const tick = async () => {
    if (poll !== mine) return;
    let next = POLL_MS;
    try {
      const res = await fetch(`${STREAM_PATH}/${encodeURIComponent(sessionId)}/enhancement`, { headers: authHeaders(current.key) });
      if (poll !== mine) return;
      if (!res.ok) {
        const e = await describeHttpError(res);
        if (e.status === 503 || e.status === 429 || e.status >= 500) {
          mine.failures++;
          setEnhancement("pending", `retrying: HTTP ${e.status} ${e.message}`);
          next = Math.min(10000, POLL_MS * 2 ** mine.failures);
        } else {
          setEnhancement("failed", `HTTP ${e.status}`);
          notify("error", `Cannot read the enhancement (HTTP ${e.status}):`, e.message);
          return;
        }
      } else {
        mine.failures = 0;
        const body = await res.json();
        const detail = [body.stage ? `stage: ${body.stage}` : "", `job ${body.enhancement_job_id}`].filter(Boolean).join(" · ");
        setEnhancement(body.status, detail);
        if (body.status === "completed") {
          renderEnhanced(body.transcript || {});
          return;
        }
        if (body.status === "failed") {
          enhancementFailed(body.error);
          return;
        }
      }
    } catch (err) {
      mine.failures++;
      setEnhancement("pending", `retrying: ${err && err.message ? err.message : err}`);
      next = Math.min(10000, POLL_MS * 2 ** mine.failures);
    }
    mine.timer = setTimeout(tick, next);
  };
  mine.timer = setTimeout(tick, 300);
}

const STATUS_LABELS = {
  none: "not requested",
  not_requested: "not requested",
  requested: "requested",
  pending: "pending",
  processing: "processing",
  completed: "completed",
  failed: "failed",
};

function setEnhancement(status, detail) {
  ui.enhancementStatus.dataset.status = status;
  ui.enhancementStatus.textContent = STATUS_LABELS[status] || status;
  ui.enhancementDetail.textContent = detail || "";
}

function renderEnhanced(result) {
  const speakers = Array.isArray(result.speakers) ? result.speakers : [];
  const segments = Array.isArray(result.segments) ? result.segments : [];
  const names = new Map();
  const hues = new Map();
  speakers.forEach((s, i) => {
    names.set(s.id, s.name || s.id);
    hues.set(s.id, (230 + i * 137) % 360);
  });
  const hueOf = (id) => {
    if (!hues.has(id)) hues.set(id, (230 + hues.size * 137) % 360);
    return hues.get(id);
  };

  ui.speakers.replaceChildren(
    ...speakers.map((s) => {
      const li = document.createElement("li");
      li.append(speakerChip(s.id, s.name || s.id, hueOf(s.id)));
      const source = document.createElement("span");
      source.className = "source";
      source.textContent = s.name ? (s.name_source ? `(${s.name_source.replace(/_/g, " ")})` : "") : "(no name found)";
      li.append(" ", source);
      return li;
    }),
  );
  ui.enhanced.replaceChildren();
  for (const seg of segments) {
    const body = document.createElement("div");
    body.className = "segment";
    const who = document.createElement("div");
    who.className = "who";
    who.append(speakerChip(seg.speaker, names.get(seg.speaker) || seg.speaker || "unknown", hueOf(seg.speaker)));
    if (seg.emotion && seg.emotion.label) {
      const e = document.createElement("span");
      e.className = "emotion";
      e.textContent = seg.emotion.label;
      e.title = `confidence ${seg.emotion.confidence}`;
      who.append(e);
    }
    body.append(who, textSpan(seg.text));
    if (seg.raw_text && seg.raw_text !== seg.text) {
      const raw = document.createElement("span");
      raw.className = "raw";
      raw.textContent = seg.raw_text;
      raw.title = "before LLM cleanup";
      body.append(raw);
    }
    appendLine(ui.enhanced, seg.start, seg.end, body);
  }
  ui.enhancedEmpty.hidden = segments.length > 0;
  if (!segments.length) ui.enhancedEmpty.textContent = "The enhancement found no speech.";
  const stages = result.enhancements
    ? Object.entries(result.enhancements)
        .map(([name, r]) => `${name}: ${r.status}${r.model ? ` (${r.model})` : ""}`)
        .join(" · ")
    : "";
  const lang = result.language_code ? `language ${result.language_code} · ` : "";
  const dur = typeof result.duration === "number" ? `${result.duration.toFixed(1)} s · ` : "";
  ui.enhancementDetail.textContent = `${lang}${dur}${stages}`;
}

function speakerChip(id, label, hue) {
  const span = document.createElement("span");
  span.className = "speaker";
  span.style.setProperty("--hue", String(hue));
  span.textContent = label;
  if (label !== id) span.title = id;
  return span;
}

/* ------------------------------------------------------------------ */
/* Rendering helpers                                                   */
/* ------------------------------------------------------------------ */

function resetTranscripts() {
  ui.live.replaceChildren();
  ui.partial.textContent = "";
  ui.liveEmpty.hidden = false;
  ui.liveEmpty.textContent = "Finals appear here with their timestamps; the grey line is the text being recognised now.";
  ui.enhanced.replaceChildren();
  ui.speakers.replaceChildren();
  ui.enhancedEmpty.hidden = false;
  ui.enhancedEmpty.textContent = ui.enhance.checked
    ? "The enhanced transcript appears here after you stop."
    : "Tick “Enhance the recording” before you start; when you stop, the whole recording is transcribed again with speakers.";
  ui.sessionInfo.textContent = "";
  setEnhancement("none", "");
}

function appendLine(list, start, end, content) {
  const li = document.createElement("li");
  const time = document.createElement("time");
  time.textContent = `${clock(start)}–${clock(end)}`;
  time.setAttribute("aria-label", `from ${clock(start)} to ${clock(end)}`);
  li.append(time, content);
  list.append(li);
  li.scrollIntoView({ block: "nearest" });
}

function textSpan(text) {
  const span = document.createElement("span");
  span.className = "text";
  span.textContent = text;
  return span;
}

function code(text) {
  const c = document.createElement("code");
  c.textContent = text;
  return c;
}

function clock(seconds) {
  const s = Math.max(0, Number(seconds) || 0);
  const m = Math.floor(s / 60);
  return `${String(m).padStart(2, "0")}:${(s - m * 60).toFixed(1).padStart(4, "0")}`;
}

function fail(current, err) {
  current.active = false;
  if (current.audio) void current.audio.stop().catch(() => undefined);
  if (current.ws) current.ws.close(1000);
  setControls("idle");
  setStatus("error", "Could not start the session.");
  if (err instanceof UiError) notify("error", err.title, err.detail);
  else notify("error", "Unexpected error:", String(err && err.message ? err.message : err));
}
