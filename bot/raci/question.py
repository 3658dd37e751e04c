"""Reading a RACI question asked in words: "who owns churn retraining?" → ``churn retraining``.

People @mention Meridian with a question rather than a command; this finds what the
question is about, so the ordinary lookup can answer it. Only the shapes below are read:
anything else is not taken for a question (the caller then says how to ask), so a
greeting never turns into a "no activity matches" reply.
"""

from __future__ import annotations

import re

_VERB = (r"(?:owns|runs|handles|leads|drives|looks\s+after|takes\s+care\s+of|knows\s+about|is\s+on"
         r"|(?:is|'s|’s)\s+(?:responsible|accountable)\s+for|(?:is|'s|’s)\s+in\s+charge\s+of"
         r"|(?:is|'s|’s)\s+the\s+owner\s+of|(?:is|'s|’s)\s+on|(?:do|should|can)\s+(?:i|we)\s+ask\s+about"
         r"|to\s+ask\s+about)")
_WHO = re.compile(rf"^(?:so\s+|hey\s+|hi\s+)?(?:who|whom)\s*{_VERB}\s+(?P<what>.+)$", re.IGNORECASE)
_WHOSE = re.compile(r"^whose\s+(?:is\s+|job\s+is\s+)?(?P<what>.+)$", re.IGNORECASE)
_OWNER = re.compile(r"^(?:who\s+is|who's|who’s|what\s+is|what's|what’s)\s+the\s+(?:owner|raci)\s+(?:of|for)\s+"
                    r"(?P<what>.+)$", re.IGNORECASE)
_PERSON = re.compile(r"^what\s+(?:does|do)\s+(?P<who>@\S+)\s+(?:own|run|do|handle)$", re.IGNORECASE)
_ARTICLE = re.compile(r"^(?:the|our|a)\s+", re.IGNORECASE)
_TRAIL = " \t?!.…"


def answer_question(text: str) -> str | None:
    """What a RACI question is about — an activity, or ``@person`` for "what does @ravi own?" — or ``None``
    when the text is not a question of a shape Meridian reads."""
    question = " ".join(text.split()).strip(_TRAIL)
    person = _PERSON.match(question)
    if person:
        return person.group("who")
    for shape in (_OWNER, _WHO, _WHOSE):
        found = shape.match(question)
        if found:
            what = _ARTICLE.sub("", found.group("what").strip(_TRAIL)).strip()
            what = re.sub(r"\s+(?:now|these\s+days|today)$", "", what, flags=re.IGNORECASE)
            return what or None
    return None
