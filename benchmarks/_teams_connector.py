"""The local Bot Connector of ``tests.emulators.teams`` in a process of its own, for the fan-out benchmark.

Teams is another machine: checking every card against the Adaptive Cards schema, as the emulator
does, costs about 9 ms of CPU a message, which is Microsoft's work, not Meridian's. Run apart, it
is not counted in the bot's figure (as ``benchmarks/slack_fanout.py`` runs Slack's emulator apart).

It prints its URL on the first line of standard output; when standard input closes, it prints
what it was asked, as one line of JSON (creates, sends by conversation, refusals), and stops.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.emulators.teams import ConnectorEmulator


async def serve() -> None:
    connector = ConnectorEmulator()
    print(await connector.start(), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the benchmark is done
    await connector.close()
    sends = Counter(str(c.conversation) for c in connector.delivered("send"))
    print(json.dumps({"creates": len(connector.delivered("create")), "sends": sends,
                      "refused": len(connector.rejected())}), flush=True)


if __name__ == "__main__":
    asyncio.run(serve())
