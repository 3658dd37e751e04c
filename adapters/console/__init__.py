"""The console chat: the embedded default, no token and no network."""
