"""``GET /rest/v1/stats/usage.json`` and ``GET /rest/v1/stats/usage/last7days.json``.

Adobe, *Usage* (experienceleague.adobe.com/en/docs/marketo-developer/marketo/rest/
lead-database/usage; AdobeDocs/marketo-developer.en ``help/rest-api/usage.md``): the result
holds one object per day, ``date`` (``YYYY-MM-DD``), ``total`` (calls of that day) and
``users`` (``userId``, ``count``): every API user of the subscription is reported
separately.  Today's answer has one day, the last-7-days answer seven, today first.  The
read is an ordinary REST call: it needs a token and counts toward window and quota (Swagger:
"Required Permissions: None").
"""

from __future__ import annotations

from mktsync.emulator.call import Call
from mktsync.emulator.envelope import Outcome
from mktsync.emulator.usage import DAYS_KEPT
from mktsync.emulator.world import World


def usage(call: Call, world: World) -> Outcome:
    return Outcome(result=[world.usage.day(0)])


def last7days(call: Call, world: World) -> Outcome:
    return Outcome(result=[world.usage.day(n) for n in range(DAYS_KEPT)])
