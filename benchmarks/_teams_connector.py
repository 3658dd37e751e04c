"""The local Bot Connector of ``tests.emulators.teams`` in a process of its own, for the fan-out benchmark.

Teams is another machine: checking every card against the Adaptive Cards schema, as the emulator
does, costs about 9 ms of CPU a message, which is Microsoft's work, not Meridian's. Run apart, it
is not counted in the bot's figure (as ``benchmarks/slack_fanout.py`` runs Slack's emulator apart).

``--latency-ms`` answers every create and send that much later, as a connector across the internet
does. It prints its URL on the first line of standard output; when standard input closes, it prints
what it was asked, as one line of JSON (creates, sends by conversation, refusals), and stops.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import Counter
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.emulators.teams import ConnectorEmulator

Handler = Callable[[web.Request], Coroutine[Any, Any, web.Response]]


def delayed(handler: Handler, seconds: float) -> Handler:
    async def answer(request: web.Request) -> web.Response:
        await asyncio.sleep(seconds)
        return await handler(request)
    return answer


async def serve(latency: float) -> None:
    connector = ConnectorEmulator()
    if latency:  # a connector across the internet answers in tens to hundreds of milliseconds
        connector._create = delayed(connector._create, latency)  # type: ignore[method-assign,assignment]
        connector._send = delayed(connector._send, latency)  # type: ignore[method-assign,assignment]
    print(await connector.start(), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the benchmark is done
    await connector.close()
    sends = Counter(str(c.conversation) for c in connector.delivered("send"))
    print(json.dumps({"creates": len(connector.delivered("create")), "sends": sends,
                      "refused": len(connector.rejected())}), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=0.0, help="answer each call this much later")
    asyncio.run(serve(parser.parse_args().latency_ms / 1000))
