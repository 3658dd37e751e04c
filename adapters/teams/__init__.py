"""Microsoft Teams: activities from the Bot Framework in, Adaptive Cards out.

``server`` mounts ``POST /api/messages``; ``bot`` turns activities into core requests;
``chat`` is the core's ``ChatPort`` (proactive sends from stored conversation
references); ``render`` is the only place that knows Adaptive Cards; ``package`` builds
the Teams app package; ``cli`` registers all of it with ``meridian``.
"""
