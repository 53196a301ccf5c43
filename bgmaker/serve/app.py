"""The web beat machine: one page and a small JSON API over a loaded BeatGenerator.

Starlette app, served by uvicorn (`bgmaker serve`). The model is loaded once by
the caller and shared; TensorFlow runs one job at a time (BeatGenerator is not
thread-safe), in a worker thread so the page, the kit samples and the error
answers never wait behind a decode.

API (JSON in and out; a beat is a grid of 64 steps, each 9 hits of 0/1 in the
order of bgmaker.drums.DRUM_NAMES, kick first):
    GET  /api/info                   model, drum names, limits and defaults
    GET  /api/progress               what the model is doing now (refinement step of a beat's code)
    GET  /api/kit/<i>.wav            one hit of drum i, from the WAV renderer (what the page plays)
    POST /api/sample       {count, temperature, seed?, prior?, more?}      -> {beats, seed, ...}
    POST /api/variations   {beat, count, noise, temperature, seed?, more?} -> {beats, seed, ...}
    POST /api/reconstruct  {beat, temperature, seed?, more?}               -> {beats: [one], seed, ...}
        prior: where samples' codes are drawn (/api/info's priors: normal, run, GMD styles, mixture,
        clusters; default the model's); more: {attribute: amount in -2..2} pushes the beats along /api/info's attribute vectors
    POST /api/interpolate  {a, b, steps, temperature, seed?}               -> {beats: steps of them, ...}
    POST /api/export       {beats, bpm, format: "midi"|"wav", name?, humanize?: {amount, seed}}
                                                                           -> the file (beats back to back)
    POST /api/humanize     {beat, amount, seed}                            -> {velocity, offset: 64 x 9 each}
        how the humanizer plays the beat's hits (bgmaker.humanize): MIDI velocity, and the offset from
        the grid in 16th steps (+ = late; the page scales it to its tempo); 0 where there is no hit
    POST /api/midi         the MIDI file's bytes (Content-Type application/octet-stream or audio/midi)
                                                                           -> {beats: its 4-bar windows, ...}
A bad request gets a 4xx and {"error": "<one line>"}; nothing a request sends stops the server.
JSON requests must say Content-Type: application/json (and uploads a binary type), so that
another web site open in the same browser cannot make this server work with a plain form post.
"""
import asyncio
import json
import math
import os
import tempfile
import threading
import time
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.datastructures import Headers
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bgmaker.drums import DEFAULT_BPM, DRUM_NAMES, MAX_BPM, MIN_BPM, STEPS
from bgmaker.errors import UnusableMidiError, UserError
from bgmaker.generation import jobs  # numpy only, as the generator module: TensorFlow loads with the model
from bgmaker.generation.generator import DEFAULT_NOISE, DEFAULT_TEMPERATURE, random_seed
from bgmaker.render.grid import ROW_ORDER  # rows as the PNG renderer draws them: cymbals on top, kick at the bottom
from bgmaker.serve import beats as grids
from bgmaker.serve.server import LOOPBACK_NAMES

STATIC = Path(__file__).parent / "static"

# name: (lowest, highest, default)
LIMITS = {
    "count": (1, 32, 8),
    "temperature": (0.05, 2.0, DEFAULT_TEMPERATURE),
    "noise": (0.0, 2.0, DEFAULT_NOISE),
    "steps": (2, 16, 8),
    "bpm": (MIN_BPM, MAX_BPM, DEFAULT_BPM),
    "seed": (0, 2**31 - 1, None),
    "amount": (0.0, 2.0, 1.0),  # humanize: 0 = the grid, 1 = as played (bgmaker.humanize.MAX_AMOUNT)
    "more": (-2.0, 2.0, 0.0),   # an attribute vector's amount (bgmaker.generation.priors; evaluated over -2..+2)
}
MAX_EXPORT_BEATS = 32
MAX_JSON_BYTES = 256 * 1024
MAX_MIDI_BYTES = 1024 * 1024
MAX_MIDI_WINDOWS = 16
JSON_TYPES = ("application/json",)
MIDI_TYPES = ("application/octet-stream", "audio/midi", "audio/mid", "audio/x-midi")


def bad(message, status=400):
    return HTTPException(status, message)


# -- reading requests ---------------------------------------------------------

async def read_body(request, limit):
    """The body's bytes; 413 as soon as it is known to exceed `limit` (before reading it all)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise bad(f"request too large: {int(declared):,} bytes, the limit is {limit:,}", 413)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise bad(f"request too large: over the limit of {limit:,} bytes", 413)
    return bytes(body)


def require_type(request, allowed, what):
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in allowed:
        raise bad(f"send {what} with Content-Type: {allowed[0]} (got '{kind or 'none'}')", 415)


async def read_json(request, fields):
    """The request's JSON object; a one-line 400 for malformed or too deeply nested JSON, a non-object, or a
    field not in `fields` (a typo such as "temprature" would otherwise silently give the default)."""
    require_type(request, JSON_TYPES, "JSON")
    body = await read_body(request, MAX_JSON_BYTES)
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise bad(f"malformed JSON: {str(e).splitlines()[0]}") from None
    except RecursionError:
        raise bad("malformed JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise bad(f"the request must be a JSON object, got {type(data).__name__}")
    check_fields(data, fields, request.url.path)
    return data


def check_fields(data, fields, where):
    """A one-line 400 naming the first field of `data` not in `fields`, with the nearest known one."""
    import difflib
    for name in data:
        if name not in fields:
            near = difflib.get_close_matches(str(name), sorted(fields), n=1)
            raise bad(f"unknown field {json.dumps(name)}" + (f" (did you mean '{near[0]}'?)" if near else "")
                      + f"; {where} takes: {', '.join(sorted(fields))}")


# The fields each JSON endpoint takes; every model call also takes temperature and seed (run_model).
JOB = ("temperature", "seed")
FIELDS = {
    "sample": ("count", "prior", "more") + JOB,
    "interpolate": ("a", "b", "steps") + JOB,
    "variations": ("beat", "count", "noise", "more") + JOB,
    "reconstruct": ("beat", "more") + JOB,
    "export": ("beats", "bpm", "format", "name", "humanize"),
    "humanize": ("beat", "amount", "seed"),
}
HUMANIZE_FIELDS = ("amount", "seed")  # the export's "humanize" object


def number(data, name, kind=float, limit=None):
    """data[name] (or the default) as `kind`, checked against LIMITS; a one-line 400 otherwise."""
    lo, hi, default = LIMITS[limit or name]
    value = data.get(name, default)
    if value is None and default is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and value != int(value)):
        raise bad(f"{name} must be {'an integer' if kind is int else 'a number'}, got {json.dumps(value)}")
    if not math.isfinite(value) or not lo <= value <= hi:
        raise bad(f"{name} must be between {lo} and {hi}, got {value}")
    return kind(value)


def steering(data, attributes):
    """data["more"] ({attribute: amount}, amounts in LIMITS["more"]) checked against the model's attributes."""
    more = data.get("more") or {}
    if not isinstance(more, dict):
        raise bad(f"more must be an object {{attribute: amount}}, got {json.dumps(more)}")
    for name in more:
        if name not in attributes:
            raise bad(f"unknown attribute '{name}'; this model has: {', '.join(attributes) or 'none'}")
    out = {name: number({f"more.{name}": value}, f"more.{name}", limit="more") for name, value in more.items()}
    return {k: v for k, v in out.items() if v}


def prior_name(data):
    value = data.get("prior")
    if value is not None and not isinstance(value, str):
        raise bad(f"prior must be a name (normal, run, a style), got {json.dumps(value)}")
    return value or None


def beat(data, name):
    if name not in data:
        raise bad(f"missing '{name}': a grid of {STEPS} steps x {len(DRUM_NAMES)} drums")
    try:
        grid = grids.parse_grid(data[name], name)
    except grids.BadBeat as e:
        raise bad(str(e)) from None
    if not grid.any():
        raise bad(f"{name} is empty: switch on some cells first")
    return grids.to_sequence(grid, name)


# -- the app ------------------------------------------------------------------

class BeatMachine:
    """The loaded model behind the page: model jobs one at a time, kit samples rendered once."""

    def __init__(self, generator, model_label, renderer="auto", humanizer=None):
        self.generator = generator
        self.humanizer = humanizer  # bgmaker.humanize's, or None: the page then has no Humanize switch
        self.model_label = model_label
        self.renderer = renderer
        self._model_lock = threading.Lock()
        # What the model is doing now, for GET /api/progress: refining a beat's code takes most of a
        # Reconstruct / Variations / Interpolate (bgmaker.generation.refine), so the page shows its steps.
        self.progress = {}
        self._in_job = False  # progress is a job's: a refinement run outside run_job (a script) leaves it alone
        generator.refine_progress = self._refining
        self._kit = None
        self._kit_lock = threading.Lock()
        self.latent = generator.latent_map()  # the model's priors and attribute vectors, or None
        self.attributes = list(self.latent.attributes) if self.latent else []

    def run_job(self, call, **kwargs):
        with self._model_lock:
            self.progress, self._in_job = dict(stage="working"), True
            try:
                return call(**kwargs)
            finally:
                self.progress, self._in_job = {}, False

    def _refining(self, windows_done, windows, step, steps):
        if self._in_job:
            self.progress = dict(stage="refining", step=step, steps=steps, windows=windows, windows_done=windows_done)

    def warm_up(self):
        """Run each kind of model call once: the first call of each TensorFlow signature is slow (seconds)."""
        beats = self.run_job(jobs.sample, generator=self.generator, num=8, seed=0, journey_steps=0).beats
        self.run_job(jobs.interpolate, generator=self.generator, start=beats[0].sequence, end=beats[1].sequence,
                     steps=8, seed=0)
        for drum in range(len(DRUM_NAMES)):
            self.kit_sample(drum)

    def kit_sample(self, drum):
        """WAV bytes of one full-velocity hit of drum class `drum`, as the WAV export renders it."""
        with self._kit_lock:
            if self._kit is None:
                self._kit = [_render_hit(d, self.renderer) for d in range(len(DRUM_NAMES))]
        return self._kit[drum]

    def humanized(self, sequences, settings):
        """`sequences` played by the humanizer as `settings` ({amount, seed}) say: the CLI's --humanize."""
        from bgmaker import humanize
        if self.humanizer is None:
            raise bad("this server has no humanizer (bgmaker serve loads models/humanize when it is there)", 409)
        if not isinstance(settings, dict):
            raise bad(f"humanize must be an object {{amount, seed}}, got {json.dumps(settings)}")
        check_fields(settings, HUMANIZE_FIELDS, "humanize")
        amount, seed = number(settings, "amount"), number(settings, "seed", int) or 0
        return [humanize.humanize([ns], self.humanizer, amount, seed)[0] for ns in sequences]


def _render_hit(drum, renderer):
    import note_seq

    from bgmaker.drums import GM_PITCHES
    from bgmaker.render.audio import render_wav
    ns = note_seq.NoteSequence(ticks_per_quarter=220)
    ns.tempos.add(qpm=DEFAULT_BPM)
    ns.notes.add(pitch=GM_PITCHES[drum], velocity=127, is_drum=True, instrument=9, start_time=0.0, end_time=0.1)
    ns.total_time = 1.6 if drum in (7, 8) else 0.6  # cymbals ring longer (bgmaker.render.audio)
    with tempfile.TemporaryDirectory(prefix="bgmaker-kit-") as tmp:
        path, _ = render_wav(ns, os.path.join(tmp, "hit.wav"), bpm=DEFAULT_BPM, renderer=renderer)
        return Path(path).read_bytes()


class HostCheck:
    """ASGI middleware: answer only requests whose Host header names one of `allowed` (any port), 400 otherwise.

    Starlette's TrustedHostMiddleware cuts the Host header at its first colon, which
    refuses an IPv6 host such as [::1]:8765; here the brackets are kept.
    """

    def __init__(self, app, allowed):
        self.app, self.allowed = app, set(allowed)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and "*" not in self.allowed:
            host = Headers(scope=scope).get("host", "")
            name = host[:host.find("]") + 1] if host.startswith("[") else host.split(":")[0]
            if name not in self.allowed:
                await PlainTextResponse(f"Invalid host header: this server answers {', '.join(sorted(self.allowed))}",
                                        400)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(generator, model_label="", renderer="auto", allowed_hosts=LOOPBACK_NAMES, humanizer=None):
    """The Starlette app over a loaded BeatGenerator (and a humanizer, bgmaker.humanize.load, or None).

    allowed_hosts: Host headers answered (the loopback names by default, so a web page
    cannot reach this server by pointing its own domain name at 127.0.0.1); ["*"] for any.
    The endpoints below find the model as request.app.state.machine.
    """
    machine = BeatMachine(generator, model_label, renderer, humanizer)
    app = Starlette(routes=routes(), middleware=[Middleware(HostCheck, allowed=allowed_hosts)],
                    exception_handlers={HTTPException: http_error, Exception: server_error})
    app.state.machine = machine
    return app


def routes():
    def post(path, endpoint):
        return Route(path, endpoint, methods=["POST"])

    return [
        Route("/", index),
        Route("/api/info", info),
        Route("/api/progress", progress),
        Route("/api/kit/{drum:int}.wav", kit),
        post("/api/sample", sample),
        post("/api/variations", variations),
        post("/api/reconstruct", reconstruct),
        post("/api/interpolate", interpolate),
        post("/api/export", export),
        post("/api/humanize", humanize_beat),
        post("/api/midi", upload_midi),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]


# -- the endpoints --------------------------------------------------------------
# Every request is checked whole before the model is asked; the model is asked through the
# bgmaker.generation.jobs calls `bgmaker generate` makes (they take the page's grids as NoteSequences).

async def run_model(machine, data, what, call):
    """Run call(temperature=, seed=) -> NoteSequences in a worker thread, one model call at a time;
    answer the beats as grids with the seed, the temperature and the time the model took."""
    temperature = number(data, "temperature")
    seed = number(data, "seed", int)
    seed = random_seed() if seed is None else seed
    start = time.perf_counter()
    try:
        beats = await asyncio.to_thread(machine.run_job, call, temperature=temperature, seed=seed)
    except UserError as e:  # e.g. a beat that gives no 4-bar window
        raise bad(str(e)) from None
    return JSONResponse(dict(what=what, beats=[grids.to_json(b) for b in beats], seed=seed,
                             temperature=temperature, ms=round(1000 * (time.perf_counter() - start), 1)))


def sequences(job):
    """The NoteSequences of a jobs call's beats; its one input's failure (no 4-bar drum beat) as a UserError."""
    if job.failures:  # the one input gave no 4-bar drum beat
        raise UserError(job.failures[0][1])
    return [b.sequence for b in job.beats]


async def sample(request):
    machine = request.app.state.machine
    data = await read_json(request, FIELDS["sample"])
    count, prior, more = number(data, "count", int), prior_name(data), steering(data, machine.attributes)
    return await run_model(machine, data, "sample", lambda **kw: sequences(
        jobs.sample(machine.generator, count, journey_steps=0, prior=prior, more=more, **kw)))


async def interpolate(request):
    machine = request.app.state.machine
    data = await read_json(request, FIELDS["interpolate"])
    a, b, steps = beat(data, "a"), beat(data, "b"), number(data, "steps", int)
    return await run_model(machine, data, "interpolation", lambda **kw: sequences(
        jobs.interpolate(machine.generator, a, b, steps, **kw)))


async def variations(request):
    machine = request.app.state.machine
    data = await read_json(request, FIELDS["variations"])
    source, count, noise = beat(data, "beat"), number(data, "count", int), number(data, "noise")
    more = steering(data, machine.attributes)
    return await run_model(machine, data, "variation", lambda **kw: sequences(
        jobs.variations(machine.generator, [source], count, noise, more=more, **kw)))


async def reconstruct(request):
    machine = request.app.state.machine
    data = await read_json(request, FIELDS["reconstruct"])
    source, more = beat(data, "beat"), steering(data, machine.attributes)
    return await run_model(machine, data, "reconstruction", lambda **kw: sequences(
        jobs.reconstruct(machine.generator, [source], more=more, **kw)))


async def export(request):
    from bgmaker.render.midi import concatenate
    machine = request.app.state.machine
    data = await read_json(request, FIELDS["export"])
    fmt = data.get("format", "midi")
    if fmt not in ("midi", "wav"):
        raise bad(f"format must be 'midi' or 'wav', got {json.dumps(fmt)}")
    bpm = number(data, "bpm")
    beats = data.get("beats")
    if not isinstance(beats, list) or not 1 <= len(beats) <= MAX_EXPORT_BEATS:
        raise bad(f"beats must be a list of 1 to {MAX_EXPORT_BEATS} grids")
    played = []
    for i, b in enumerate(beats):
        try:
            played.append(grids.to_sequence(grids.parse_grid(b, f"beat {i + 1}")))
        except grids.BadBeat as e:
            raise bad(str(e)) from None
    name = str(data.get("name", "beat"))
    name = "".join(c for c in name if c.isascii() and (c.isalnum() or c in "-_"))[:60] or "beat"
    if data.get("humanize") is not None:
        settings = data["humanize"]
        played = await asyncio.to_thread(machine.run_job, lambda: machine.humanized(played, settings))
    ns = played[0] if len(played) == 1 else concatenate(played)
    body = await asyncio.to_thread(_export_bytes, ns, fmt, bpm, machine.renderer)
    ext, kind = ("mid", "audio/midi") if fmt == "midi" else ("wav", "audio/wav")
    return Response(body, media_type=kind,
                    headers={"Content-Disposition": f'attachment; filename="{name}.{ext}"'})


async def upload_midi(request):
    require_type(request, MIDI_TYPES, "the MIDI file")
    body = await read_body(request, MAX_MIDI_BYTES)
    name = Path(request.query_params.get("name", "upload.mid")).name or "upload.mid"
    windows = await asyncio.to_thread(_midi_windows, body, name)
    return JSONResponse(dict(name=name, beats=[grids.to_json(w.sequence) for w in windows],
                             start_bars=[w.start_bar for w in windows]))


async def humanize_beat(request):
    import numpy as np

    from bgmaker.data import groove
    machine = request.app.state.machine
    data = await read_json(request, FIELDS["humanize"])
    source = beat(data, "beat")
    start = time.perf_counter()
    settings = {k: v for k, v in data.items() if k != "beat"}
    (played,) = await asyncio.to_thread(machine.run_job, lambda: machine.humanized([source], settings))
    g = groove.groove_of(played, STEPS)
    return JSONResponse(dict(velocity=np.round(g.velocity).astype(int).tolist(),
                             offset=np.round(g.offset, 4).tolist(), humanizer=machine.humanizer.name,
                             ms=round(1000 * (time.perf_counter() - start), 1)))


async def kit(request):
    drum = request.path_params["drum"]
    if not 0 <= drum < len(DRUM_NAMES):
        raise bad(f"no drum {drum}: the kit has drums 0-{len(DRUM_NAMES) - 1}", 404)
    return Response(await asyncio.to_thread(request.app.state.machine.kit_sample, drum), media_type="audio/wav",
                    headers={"Cache-Control": "max-age=3600"})


async def info(request):
    """Everything the page sets itself up from: drums, limits and defaults (LIMITS), priors, attributes."""
    machine = request.app.state.machine
    latent = machine.latent
    return JSONResponse(dict(model=machine.model_label, drums=list(DRUM_NAMES), rows=list(ROW_ORDER), steps=STEPS,
                             limits={k: dict(min=lo, max=hi, default=d) for k, (lo, hi, d) in LIMITS.items()},
                             max_export_beats=MAX_EXPORT_BEATS, max_midi_bytes=MAX_MIDI_BYTES,
                             humanizer=machine.humanizer.name if machine.humanizer else None,
                             humanize_default=bool(machine.humanizer) and humanize_default(),
                             priors=latent.names() if latent else ["normal"],
                             default_prior=latent.default_prior if latent else "normal",
                             attributes=machine.attributes))


async def progress(request):
    """{"stage": "idle" | "working" | "refining", and for refining: step, steps, windows}."""
    return JSONResponse(request.app.state.machine.progress or dict(stage="idle"))


async def index(request):
    return FileResponse(STATIC / "index.html")


async def http_error(request, exc):
    return JSONResponse({"error": str(exc.detail).splitlines()[0]}, exc.status_code,
                        headers=getattr(exc, "headers", None))


async def server_error(request, exc):
    return JSONResponse({"error": f"internal error: {type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}"}, 500)


def humanize_default():
    """Whether the page's Humanize switch starts on: as `bgmaker generate` (bgmaker.humanize.default_on)."""
    from bgmaker import humanize
    return humanize.default_on()


def _export_bytes(ns, fmt, bpm, renderer):
    from bgmaker.render.audio import render_wav
    from bgmaker.render.midi import write_midi
    with tempfile.TemporaryDirectory(prefix="bgmaker-export-") as tmp:
        path = os.path.join(tmp, "beat.mid" if fmt == "midi" else "beat.wav")
        if fmt == "midi":
            write_midi(ns, path, bpm=bpm)
        else:
            render_wav(ns, path, bpm=bpm, renderer=renderer)
        return Path(path).read_bytes()


def _midi_windows(body, name):
    """The distinct non-silent 4-bar windows of an uploaded MIDI file (the CLI encodes the first), at most
    MAX_MIDI_WINDOWS; found by bgmaker.data.midi, so the reasons for a bad file are the CLI's."""
    from bgmaker.data import midi
    if not body:
        raise bad(f"{name}: empty upload")
    with tempfile.TemporaryDirectory(prefix="bgmaker-upload-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(body)
        try:
            found = midi.find_windows(path)
        except UnusableMidiError as e:
            raise bad(f"{name}: {str(e).replace(f'{path}: ', '')}") from None
    return found[:MAX_MIDI_WINDOWS]
