"""Whether what the user said so far reads as finished, so the turn may end sooner.

The hang-over (``VadConfig.silence_ms``, 600 ms by default) is there for people who pause
in the middle of a thought. When the transcript of the speech before the pause already
ends a sentence, waiting that long only delays the answer: the loop then ends the turn
after ``VoiceConfig.finished_silence_ms`` instead. Whisper puts a full stop after almost
anything, so a sentence whose last word announces more ("Tell me a joke about.", "in
Paris and?") does not count as finished.
"""

from __future__ import annotations

import re

# Silence after a finished sentence that ends the turn (the hang-over is 600 ms): still
# longer than the gaps between words, about the pause people leave before a reply.
FINISHED_SILENCE_MS = 300
# ... when Whisper runs on a GPU: the draft of a finished question is ready about 50 ms into
# the pause (measured on an H200), so the turn can end at the pace people take turns
# (gaps of about 200 ms). A user who goes on after all barges in, and the question is
# continued (app.voice.loop). On a CPU the draft takes about as long as the longer wait.
FINISHED_SILENCE_MS_GPU = 150

_ENDS = ".!?。！？"
# Words a finished English sentence does not end on, whatever Whisper's punctuation.
_DANGLING_EN = {
    "a", "an", "the", "my", "your", "our", "their", "and", "or", "but", "nor", "because",
    "than", "um", "uh", "er", "erm",
}  # fmt: skip
# ... and, unless it is asked as a question ("Where are you from?"), on a preposition.
_PREPOSITIONS_EN = {
    "about", "of", "to", "for", "with", "from", "in", "on", "at", "by", "into", "onto",
    "over", "under", "after", "before", "between", "through", "during", "near", "around",
    "like", "if",
}  # fmt: skip
# Chinese sentences that stop on a conjunction or a particle that links to more.
_DANGLING_ZH = ("和", "跟", "或者", "还是", "但是", "可是", "因为", "所以", "然后", "还有",
                "而且", "就是", "那个", "这个", "如果")  # fmt: skip


def sounds_finished(text: str, language: str | None = None) -> bool:
    """True when ``text`` (a transcript) ends a sentence and does not trail off."""
    text = text.strip().rstrip("\"'”’)")
    if not text or text[-1] not in _ENDS or text.endswith(("...", "…")):
        return False
    body = text.rstrip(_ENDS).strip()
    if not body:
        return False
    if language == "zh" or re.search(r"[\u4e00-\u9fff]$", body):
        return not body.endswith(_DANGLING_ZH)
    last = re.findall(r"[\w']+", body.lower())
    if not last:
        return False
    word = last[-1]
    if word in _DANGLING_EN:
        return False
    return not (word in _PREPOSITIONS_EN and not text.endswith("?"))
