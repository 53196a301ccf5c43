"""The local web beat machine (`bgmaker serve`): a drum grid page over the same BeatGenerator the CLI uses.

`app` builds the Starlette app and the uvicorn server; `beats` turns the page's grids into
NoteSequences and back; `static/` is the page itself (plain HTML, CSS and JavaScript, Web Audio).
"""
