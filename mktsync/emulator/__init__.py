"""A Marketo emulator: a real HTTP server that behaves like Marketo for mktsync's endpoints.

>>> from mktsync.emulator import EmulatorOptions, serve
>>> with serve(seed=None, options=EmulatorOptions(calls=50)) as emu:  # doctest: +SKIP
...     emu.base_url, emu.client_id
('http://127.0.0.1:54321', 'mktsync-demo')

Modules: ``options`` (knobs), ``seed`` (seed files -> world), ``world`` (data),
``identity`` (tokens), ``limits`` (606/607/615), ``faults`` (fault injection),
``routes`` + ``*_routes`` (endpoints; ``activity_types`` the activity-type catalog),
``app`` (pipeline), ``server`` (HTTP),
``emulator`` (lifecycle, inspection), ``cli`` (``mktsync emulator``).
See docs/emulator.md for behaviour and every judgement call.
"""

from __future__ import annotations

from mktsync.emulator.emulator import Emulator, serve
from mktsync.emulator.options import EmulatorOptions
from mktsync.emulator.seed import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, load_seed

__all__ = [
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "Emulator",
    "EmulatorOptions",
    "load_seed",
    "serve",
]
