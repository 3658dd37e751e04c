"""The team file's ``sources:`` and ``digests:`` sections.

The two are read together (a digest names the sources it covers), so each is checked
whenever either key is present: a bad ``digests:`` with no ``sources:`` is an error at
its line, not a silent no-op. Applying writes the workspace's configuration through the
store, inside the import's one transaction.
"""

from __future__ import annotations

from bot.digests.config import SourcesConfigError
from bot.digests.service import DigestRegistry
from bot.kernel.teamfile import TeamFile, TeamSection

KEYS = ("sources", "digests")


class DigestSections:
    def __init__(self, registry: DigestRegistry) -> None:
        self.registry = registry

    def validate(self, tf: TeamFile) -> list[str]:
        """``sources:`` and ``digests:`` errors as ``file:line: key: reason`` lines."""
        try:
            self.registry.parse(tf.raw)
        except SourcesConfigError as err:
            return [f"{tf.where(*err.path)}: {err}"]
        return []

    def validate_once(self, tf: TeamFile) -> list[str]:
        """The ``digests`` check, unless ``sources`` is present and so already reported both."""
        return [] if "sources" in tf.raw else self.validate(tf)

    def apply(self, tf: TeamFile) -> None:
        self.registry.configure(tf.workspace, tf.raw)

    def apply_once(self, tf: TeamFile) -> None:
        if "sources" not in tf.raw:
            self.apply(tf)

    def sections(self) -> list[TeamSection]:
        return [TeamSection("sources", self.validate, self.apply),
                TeamSection("digests", self.validate_once, self.apply_once)]
