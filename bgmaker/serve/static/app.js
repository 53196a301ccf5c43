// BGMaker beat machine: the page. Plain JavaScript, no build step.
// A beat is {id, name, seed, grid}; grid[step][drum] is 0/1, 64 steps x 9 drums (kick first), as in the API.
"use strict";

const $ = (id) => document.getElementById(id);
const STEPS = 64;
const state = {
  info: null, drums: [], rows: [],  // drum names; screen rows top to bottom (as the PNG renderer draws them)
  beats: [], view: null,            // the beat list; the beat in the grid (may be an interpolation step)
  a: null, b: null, interp: null,   // interpolation ends; its result {beats, name}
  lastSeed: null, busy: false, nextId: 1,
};

// -- status line ----------------------------------------------------------------

function say(text, kind = "") {
  const s = $("status");
  s.textContent = text;
  s.className = kind;
}

// While the model works, ask the server what it is doing: refining a beat's latent code takes most of a
// Reconstruct, Variations or Interpolate, so its steps are shown ("refining 12/25").
function watchProgress(text) {
  let asking = false;
  const timer = setInterval(async () => {
    if (asking) return;
    asking = true;
    try {
      const p = await (await fetch("/api/progress")).json();
      if (state.busy && p.stage === "refining") say(`${text} refining the beat's code: step ${p.step}/${p.steps}`, "busy");
    } catch (e) { /* the answer to the job itself reports errors */ }
    asking = false;
  }, 250);
  return () => clearInterval(timer);
}

async function withBusy(text, work) {
  if (state.busy) return;
  state.busy = true;
  document.body.dataset.busy = "1";
  document.querySelectorAll("button.model").forEach((b) => (b.disabled = true));
  say(text, "busy");
  const stopWatching = watchProgress(text);
  try {
    await work();
  } catch (e) {
    say(String(e.message || e).split("\n")[0], "error");
  } finally {
    stopWatching();
    state.busy = false;
    delete document.body.dataset.busy;
    document.querySelectorAll("button.model").forEach((b) => (b.disabled = false));
  }
}

// -- talking to the server ------------------------------------------------------

async function check(response) {
  if (response.ok) return response;
  let message = `${response.status} ${response.statusText}`;
  try { message = (await response.json()).error || message; } catch (e) { /* not JSON */ }
  throw new Error(message);
}

async function post(path, body) {
  return check(await fetch(path, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  }));
}

function numberOf(id) {
  const text = $(id).value.trim();
  return text === "" ? null : Number(text);
}

// -- beats ------------------------------------------------------------------------

function emptyGrid() {
  return Array.from({ length: STEPS }, () => new Array(state.drums.length).fill(0));
}

function newBeat(grid, name, seed = null) {
  return { id: state.nextId++, name, seed, grid };
}

function addBeats(beats) {
  state.beats = beats.concat(state.beats).slice(0, 96);
  renderBeatList();
  show(beats[0]);
}

function show(beat) {
  state.view = beat;
  renderGrid();
  document.querySelectorAll(".beat-card").forEach((c) => c.classList.toggle("selected", +c.dataset.id === beat.id));
  $("now-showing").textContent = beat.name;
}

// -- the grid -----------------------------------------------------------------------

function buildGrid() {
  const grid = $("grid");
  grid.innerHTML = "";
  for (const drum of state.rows) {
    const label = document.createElement("div");
    label.className = "label";
    label.textContent = state.drums[drum];
    grid.appendChild(label);
    for (let step = 0; step < STEPS; step++) {
      const cell = document.createElement("div");
      cell.className = "cell" + (Math.floor(step / 4) % 2 ? " q" : "") + (step % 16 === 0 && step ? " bar" : "");
      cell.id = `c-${step}-${drum}`;
      cell.dataset.step = step;
      cell.dataset.drum = drum;
      cell.title = `${state.drums[drum]}, bar ${Math.floor(step / 16) + 1}, step ${(step % 16) + 1}`;
      grid.appendChild(cell);
    }
  }
  // click toggles a cell; dragging on from it paints the same value along the way
  let painting = null;
  grid.addEventListener("mousedown", (event) => {
    const cell = event.target.closest(".cell");
    if (!cell) return;
    if (!state.view) addBeats([newBeat(emptyGrid(), "drawn")]);
    painting = state.view.grid[+cell.dataset.step][+cell.dataset.drum] ? 0 : 1;
    setCell(+cell.dataset.step, +cell.dataset.drum, painting);
  });
  grid.addEventListener("mouseover", (event) => {
    const cell = event.target.closest(".cell");
    if (cell && painting !== null && event.buttons & 1) setCell(+cell.dataset.step, +cell.dataset.drum, painting);
  });
  window.addEventListener("mouseup", () => { painting = null; });
}

function setCell(step, drum, value) {
  state.view.grid[step][drum] = value;
  $(`c-${step}-${drum}`).classList.toggle("on", !!value);
  drawThumb(state.view);
}

function renderGrid() {
  const grid = state.view ? state.view.grid : emptyGrid();
  for (let step = 0; step < STEPS; step++) {
    for (const drum of state.rows) $(`c-${step}-${drum}`).classList.toggle("on", !!grid[step][drum]);
  }
}

let playheadStep = -1;
function markPlayhead(step) {
  if (step === playheadStep) return;
  for (const drum of state.rows) {
    if (playheadStep >= 0) $(`c-${playheadStep}-${drum}`).classList.remove("now");
    if (step >= 0) $(`c-${step}-${drum}`).classList.add("now");
  }
  playheadStep = step;
}

// -- the beat list ------------------------------------------------------------------

function renderBeatList() {
  const list = $("beats");
  list.innerHTML = "";
  for (const beat of state.beats) {
    const card = document.createElement("div");
    card.className = "beat-card" + (state.view === beat ? " selected" : "");
    card.dataset.id = beat.id;
    const title = document.createElement("div");
    title.className = "title";
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = beat.name;
    name.title = beat.seed === null ? beat.name : `${beat.name} · seed ${beat.seed}`;
    const buttons = document.createElement("span");
    buttons.className = "picks";
    for (const end of ["a", "b"]) {
      const pick = document.createElement("button");
      pick.className = `small pick-${end}` + (state[end] === beat ? ` is-${end}` : "");
      pick.textContent = end.toUpperCase();
      pick.title = `interpolate ${end === "a" ? "from" : "to"} this beat`;
      pick.addEventListener("click", (event) => { event.stopPropagation(); pickEnd(end, beat); });
      buttons.appendChild(pick);
    }
    title.append(name, buttons);
    const canvas = document.createElement("canvas");
    canvas.width = STEPS;
    canvas.height = state.rows.length;
    card.append(title, canvas);
    card.addEventListener("click", () => show(beat));
    list.appendChild(card);
    beat.canvas = canvas;
    drawThumb(beat);
  }
}

function drawThumb(beat) {
  const canvas = beat.canvas;
  if (!canvas || !canvas.isConnected) return;
  const g = canvas.getContext("2d");
  g.fillStyle = "#262a32";
  g.fillRect(0, 0, canvas.width, canvas.height);
  g.fillStyle = "#f0a030";
  state.rows.forEach((drum, row) => {
    for (let step = 0; step < STEPS; step++) if (beat.grid[step][drum]) g.fillRect(step, row, 1, 1);
  });
}

function pickEnd(end, beat) {
  state[end] = beat;
  $(`pick-${end}`).textContent = beat.name;
  renderBeatList();
}

// -- model actions --------------------------------------------------------------------

function jobParams() {
  return { temperature: numberOf("temperature"), seed: numberOf("seed") };
}

// The Steer sliders as the API's `more`: {attribute: amount} for the non-zero ones.
function moreParams() {
  const more = {};
  document.querySelectorAll("#sliders input").forEach((s) => { if (Number(s.value) !== 0) more[s.dataset.attribute] = Number(s.value); });
  return Object.keys(more).length ? { more } : {};
}

function moreLabel() {
  const more = moreParams().more || {};
  return Object.entries(more).map(([k, v]) => `${k} ${v > 0 ? "+" : ""}${v}`).join(", ");
}

// The priors that are not a GMD style, as the style menu names them (bgmaker.generation.priors).
const PRIOR_LABELS = {
  run: "all (the model's data)",
  clusters: "all, by clusters",
  mixture: "all, by style",
  beat: "beats",
  fill: "fills",
  normal: "N(0, I)",
};

function buildSteering(info) {
  if (info.priors && info.priors.length > 1) {
    const select = $("prior");
    for (const name of info.priors) {
      const option = document.createElement("option");
      option.value = name;
      option.textContent = PRIOR_LABELS[name] || name;
      option.selected = name === info.default_prior;
      select.appendChild(option);
    }
    $("prior-control").hidden = false;
  }
  if (!info.attributes || !info.attributes.length) return;
  const limits = info.limits.more;
  for (const name of info.attributes) {
    const label = document.createElement("label");
    label.textContent = `${name} `;
    const slider = document.createElement("input");
    Object.assign(slider, { type: "range", min: limits.min, max: limits.max, step: 0.25, value: 0 });
    slider.dataset.attribute = name;
    slider.id = `more-${name}`;
    const out = document.createElement("output");
    out.textContent = "0";
    slider.addEventListener("input", () => { out.textContent = Number(slider.value) > 0 ? `+${slider.value}` : slider.value; });
    label.append(slider, out);
    $("sliders").appendChild(label);
  }
  $("steer").hidden = false;
}

function push() {
  return withBusy("Pushing…", async () => {
    const source = requireView();
    const more = moreParams();
    if (!more.more) throw new Error("move a Steer slider first");
    const answer = await (await post("/api/reconstruct", { beat: source.grid, ...more, ...jobParams() })).json();
    remember(answer, "pushed beat");
    addBeats([newBeat(answer.beats[0], `${source.name}, ${moreLabel()}`, answer.seed)]);
  });
}

function remember(answer, what) {
  state.lastSeed = answer.seed;
  $("last-seed").textContent = answer.seed;
  $("reuse-seed").disabled = false;
  const n = answer.beats.length;
  say(`${n} ${what}${n === 1 ? "" : "s"} in ${Math.round(answer.ms)} ms · seed ${answer.seed} · temperature ${answer.temperature}`);
}

function generate() {
  return withBusy(`Generating ${$("count").value} beats…`, async () => {
    const prior = $("prior-control").hidden ? {} : { prior: $("prior").value };
    const answer = await (await post("/api/sample", { count: numberOf("count"), ...prior, ...moreParams(), ...jobParams() })).json();
    remember(answer, "beat");
    const how = [prior.prior && prior.prior !== "run" && prior.prior !== "normal" ? prior.prior : "", moreLabel()].filter(Boolean).join(", ");
    addBeats(answer.beats.map((g, i) => newBeat(g, `sample ${i + 1}${how ? ` (${how})` : ""}`, answer.seed)));
  });
}

function requireView() {
  if (!state.view) throw new Error("draw a beat or generate one first");
  return state.view;
}

function variations() {
  return withBusy(`Making ${$("var-count").value} variations…`, async () => {
    const source = requireView();
    const answer = await (await post("/api/variations", {
      beat: source.grid, count: numberOf("var-count"), noise: numberOf("noise"), ...moreParams(), ...jobParams(),
    })).json();
    remember(answer, "variation");
    addBeats(answer.beats.map((g, i) => newBeat(g, `variation ${i + 1} of ${source.name}`, answer.seed)));
  });
}

function reconstruct() {
  return withBusy("Reconstructing…", async () => {
    const source = requireView();
    const answer = await (await post("/api/reconstruct", { beat: source.grid, ...jobParams() })).json();
    remember(answer, "reconstruction");
    addBeats([newBeat(answer.beats[0], `model's ${source.name}`, answer.seed)]);
  });
}

function interpolate() {
  return withBusy("Interpolating…", async () => {
    if (!state.a || !state.b) throw new Error("pick two beats first: the A and B buttons on the beats below");
    const answer = await (await post("/api/interpolate", {
      a: state.a.grid, b: state.b.grid, steps: numberOf("steps"), ...jobParams(),
    })).json();
    remember(answer, "interpolation step");
    const name = `${state.a.name} → ${state.b.name}`;
    const steps = answer.beats.map((g, i) => newBeat(g, `step ${i + 1}/${answer.beats.length}: ${name}`, answer.seed));
    state.interp = { beats: steps, name };
    $("interp").hidden = false;
    $("interp-step").max = steps.length;
    $("interp-step").value = 1;
    $("interp-bars").textContent = 4 * steps.length;
    showInterpStep(0);
  });
}

function showInterpStep(index) {
  const steps = state.interp.beats;
  $("interp-step").value = index + 1;
  $("interp-label").textContent = `${index + 1} / ${steps.length}`;
  show(steps[index]);
}

// -- export and import ------------------------------------------------------------------

function exportBeats(beats, name, format) {
  return withBusy(`Writing ${format.toUpperCase()}…`, async () => {
    if (!beats.length) throw new Error("nothing to export yet");
    const request = { beats: beats.map((b) => b.grid), bpm: numberOf("bpm"), format, name };
    if (humanizing()) request.humanize = humanizeSettings(beats[0]);
    const response = await post("/api/export", request);
    const blob = await response.blob();
    const match = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = match ? match[1] : `${name}.${format === "midi" ? "mid" : "wav"}`;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60000);
    say(`Saved ${link.download} (${beats.length * 4} bars at ${numberOf("bpm")} bpm)`);
  });
}

function slug(text) {
  return text.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 50) || "beat";
}

function loadMidi(file) {
  return withBusy(`Reading ${file.name}…`, async () => {
    const limit = state.info ? state.info.max_midi_bytes : Infinity;
    if (file.size > limit) throw new Error(`${file.name}: ${file.size.toLocaleString()} bytes, the limit is ${limit.toLocaleString()}`);
    const response = await check(await fetch(`/api/midi?name=${encodeURIComponent(file.name)}`, {
      method: "POST", headers: { "Content-Type": "application/octet-stream" }, body: file,
    }));
    const answer = await response.json();
    addBeats(answer.beats.map((g, i) => newBeat(g, `${answer.name} bar ${answer.start_bars[i] + 1}`)));
    say(`${answer.name}: ${answer.beats.length} four-bar window${answer.beats.length === 1 ? "" : "s"} loaded`);
  });
}

// -- humanize: the server's humanizer plays each beat's hits (velocity, offset from the grid) -----------

const playing = new Map();  // "<amount>|<seed>|<grid>" -> {velocity, offset} (or "pending")

function humanizing() {
  return Boolean(state.info && state.info.humanizer && $("humanize").checked);
}

function humanizeSettings(beat) {
  return { amount: Number($("amount").value), seed: beat && beat.seed != null ? beat.seed : 0 };
}

function playingOf(beat) {
  // How the humanizer plays `beat` now, or null (grid and one velocity) while it is being asked.
  if (!humanizing() || !beat) return null;
  const settings = humanizeSettings(beat);
  const key = `${settings.amount}|${settings.seed}|${JSON.stringify(beat.grid)}`;
  const known = playing.get(key);
  if (known && known !== "pending") return known;
  if (!known && beat.grid.some((step) => step.some((hit) => hit))) {
    playing.set(key, "pending");
    post("/api/humanize", { beat: beat.grid, ...settings })
      .then((r) => r.json())
      .then((answer) => { playing.set(key, answer); if (playing.size > 256) playing.delete(playing.keys().next().value); })
      .catch((e) => { playing.delete(key); say(`humanize: ${e.message || e}`, "error"); });
  }
  return null;
}

// -- sound: the renderer's own drum hits, scheduled ahead with Web Audio -----------------------

const player = { ctx: null, buffers: null, timer: null, beats: null, step: 0, nextTime: 0, queue: [], interp: false };

async function ensureAudio() {
  if (!player.ctx) {
    player.ctx = new AudioContext();
    player.buffers = await Promise.all(state.drums.map(async (_, drum) => {
      const response = await check(await fetch(`/api/kit/${drum}.wav`));
      return player.ctx.decodeAudioData(await response.arrayBuffer());
    }));
  }
  if (player.ctx.state === "suspended") await player.ctx.resume();
}

function tempo() {
  const bpm = numberOf("bpm");
  const { min, max } = state.info.limits.bpm;
  return Number.isFinite(bpm) ? Math.min(max, Math.max(min, bpm)) : state.info.limits.bpm.default;
}

function schedule() {
  const ctx = player.ctx;
  while (player.nextTime < ctx.currentTime + 0.12) {
    const index = Math.floor(player.step / STEPS), step = player.step % STEPS;
    const beat = player.interp ? player.beats[index] : state.view;  // a single beat follows the grid
    if (beat) {
      const played = playingOf(beat);
      const stepSeconds = 60 / tempo() / 4;
      beat.grid[step].forEach((hit, drum) => {
        if (!hit) return;
        const source = ctx.createBufferSource();
        const gain = ctx.createGain();
        // the model's velocity, as in the WAV export, or the humanizer's velocity and timing
        gain.gain.value = (played ? played.velocity[step][drum] : 80) / 127;
        source.buffer = player.buffers[drum];
        source.connect(gain).connect(ctx.destination);
        source.start(Math.max(ctx.currentTime, player.nextTime + (played ? played.offset[step][drum] * stepSeconds : 0)));
      });
    }
    player.queue.push({ time: player.nextTime, index, step });
    player.nextTime += 60 / tempo() / 4;
    player.step += 1;
    if (player.step >= STEPS * (player.interp ? player.beats.length : 1)) {
      if (!$("loop").checked) { player.stopAt = player.nextTime; clearInterval(player.timer); player.timer = null; break; }
      player.step = 0;
    }
  }
}

function animate() {
  if (!player.ctx || (!player.timer && !player.stopAt)) return;
  const now = player.ctx.currentTime;
  let current = null;
  while (player.queue.length && player.queue[0].time <= now) current = player.queue.shift();
  if (current) {
    if (player.interp && state.interp && state.interp.beats === player.beats && state.view !== player.beats[current.index]) {
      showInterpStep(current.index);
    }
    markPlayhead(current.step);
  }
  if (player.stopAt && now >= player.stopAt) { stop(); return; }
  requestAnimationFrame(animate);
}

async function play(interp = false) {
  stop();
  try {
    await ensureAudio();
  } catch (e) {
    say(`cannot play: ${e.message || e}`, "error");
    return;
  }
  player.interp = interp;
  player.beats = interp ? state.interp.beats : null;
  player.step = 0;
  player.queue = [];
  player.stopAt = null;
  player.nextTime = player.ctx.currentTime + 0.06;
  schedule();
  player.timer = setInterval(schedule, 25);
  $("play").innerHTML = "&#9632; Stop";
  document.body.dataset.playing = interp ? "interpolation" : "beat";
  requestAnimationFrame(animate);
}

function stop() {
  if (player.timer) clearInterval(player.timer);
  player.timer = null;
  player.stopAt = null;
  player.queue = [];
  markPlayhead(-1);
  $("play").innerHTML = "&#9654; Play";
  delete document.body.dataset.playing;
}

// -- wiring ---------------------------------------------------------------------------------

function wire() {
  $("play").addEventListener("click", () => (player.timer ? stop() : play(false)));
  $("play-interp").addEventListener("click", () => play(true));
  document.addEventListener("keydown", (event) => {
    if (event.code === "Space" && event.target === document.body) {
      event.preventDefault();
      player.timer ? stop() : play(false);
    }
  });
  $("bpm").addEventListener("input", () => { $("bpm-slider").value = $("bpm").value; });
  $("bpm-slider").addEventListener("input", () => { $("bpm").value = $("bpm-slider").value; });
  $("noise").addEventListener("input", () => { $("noise-value").textContent = Number($("noise").value).toFixed(2); });
  $("amount").addEventListener("input", () => { $("amount-value").textContent = Number($("amount").value).toFixed(1); });
  $("clear").addEventListener("click", () => {
    if (!state.view) return;
    state.view.grid = emptyGrid();
    renderGrid();
    drawThumb(state.view);
  });
  $("generate").addEventListener("click", generate);
  $("variations").addEventListener("click", variations);
  $("reconstruct").addEventListener("click", reconstruct);
  $("push").addEventListener("click", push);
  $("reset-sliders").addEventListener("click", () => {
    document.querySelectorAll("#sliders input").forEach((s) => { s.value = 0; s.dispatchEvent(new Event("input")); });
  });
  $("interpolate").addEventListener("click", interpolate);
  $("reuse-seed").addEventListener("click", () => { $("seed").value = state.lastSeed; });
  $("interp-step").addEventListener("input", () => showInterpStep(+$("interp-step").value - 1));
  $("export-midi").addEventListener("click", () => exportBeats(state.view ? [state.view] : [], slug(state.view ? state.view.name : ""), "midi"));
  $("export-wav").addEventListener("click", () => exportBeats(state.view ? [state.view] : [], slug(state.view ? state.view.name : ""), "wav"));
  $("export-interp-midi").addEventListener("click", () => exportBeats(state.interp.beats, "interpolation", "midi"));
  $("export-interp-wav").addEventListener("click", () => exportBeats(state.interp.beats, "interpolation", "wav"));
  $("file").addEventListener("change", () => { if ($("file").files[0]) loadMidi($("file").files[0]); $("file").value = ""; });

  let depth = 0;  // dragenter/leave fire for every child element
  const hasFiles = (event) => event.dataTransfer && Array.from(event.dataTransfer.types).includes("Files");
  document.addEventListener("dragenter", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    depth++;
    $("drop").hidden = false;
  });
  document.addEventListener("dragleave", (event) => {
    if (hasFiles(event) && --depth <= 0) { depth = 0; $("drop").hidden = true; }
  });
  document.addEventListener("dragover", (event) => event.preventDefault());
  document.addEventListener("drop", (event) => {
    event.preventDefault();
    depth = 0;
    $("drop").hidden = true;
    const file = event.dataTransfer.files[0];
    if (file) loadMidi(file);
  });
}

// The controls' ranges and starting values are the server's (/api/info's limits: what the API accepts, with
// the defaults of `bgmaker generate`). The page's own choices: 4 variations, and a noise slider that stops at 1.
const RANGES = [["count", "count"], ["var-count", "count"], ["temperature", "temperature"], ["steps", "steps"],
                ["bpm", "bpm"], ["bpm-slider", "bpm"], ["amount", "amount"]];
const DEFAULTS = [["count", "count"], ["temperature", "temperature"], ["noise", "noise"], ["steps", "steps"],
                  ["bpm", "bpm"], ["bpm-slider", "bpm"], ["amount", "amount"]];

function setLimits(limits) {
  for (const [id, key] of RANGES) {
    $(id).min = limits[key].min;
    $(id).max = limits[key].max;
  }
  for (const [id, key] of DEFAULTS) $(id).value = limits[key].default;
  $("noise-value").textContent = Number($("noise").value).toFixed(2);
  $("amount-value").textContent = Number($("amount").value).toFixed(1);
}

async function start() {
  const info = await (await check(await fetch("/api/info"))).json();
  state.info = info;
  state.drums = info.drums;
  state.rows = info.rows;
  $("model").textContent = info.model;
  setLimits(info.limits);
  if (info.humanizer) {
    $("humanize-controls").hidden = false;
    $("humanize").checked = Boolean(info.humanize_default);
    $("humanize-controls").title += ` (${info.humanizer})`;
  }
  buildSteering(info);
  buildGrid();
  wire();
  document.body.dataset.ready = "1";
}

start().catch((e) => say(`cannot start: ${e.message || e}`, "error"));
