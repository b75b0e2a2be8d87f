"""Speech Hearth could not make out: it says so, instead of leaving the user waiting.

Whisper's final pass throws a text away when it is too unlikely to be what was said (an
average token log-probability below ``SttConfig.reject_logprob``, or below Whisper's own
threshold where it also doubts there was speech; see :mod:`app.voice.stt`). Without more,
such a turn ended in silence: nothing answered, nothing shown, and the user could not
tell a question lost from one still being worked on. Now, when it is plain that someone
spoke to Hearth, it answers "Sorry, I didn't catch that" and listens again; the question
is not stored, and what is said next is a question of its own (the lost audio is not put
in front of it, or Whisper would hear the question twice).

"Plain that someone spoke" keeps noise quiet: the final pass must have found words it
then rejected as unlikely (not "no speech", not silence); half a second of speech at
least; and in a hands-free turn started at the first pause, the draft must have read
words too. A push-to-talk or wake-word turn was addressed to Hearth by the user, so the
final pass's word suffices there.
"""

from __future__ import annotations

from app.voice.stt import REJECTED_UNLIKELY, Transcript

# Less speech than this is a cough, a click or a word cut off: not worth a reply.
NOT_HEARD_MIN_SPEECH_S = 0.5


def not_heard_phrase(language: str | None) -> str:
    """What Hearth says when it could not make out what was said, in ``language``."""
    if (language or "").startswith("zh"):
        return "抱歉，我没听清。请再说一遍。"
    return "Sorry, I didn't catch that. Could you say it again?"


def could_not_make_out(
    final: Transcript, draft: Transcript | None, *, speculative: bool, speech_s: float
) -> bool:
    """Whether a turn whose final pass came back empty was speech Whisper could not make
    out (Hearth says so), rather than noise or silence (Hearth says nothing)."""
    if not final.empty or not (final.rejected or "").startswith(REJECTED_UNLIKELY):
        return False
    if speech_s < NOT_HEARD_MIN_SPEECH_S:
        return False
    if speculative:
        return draft is not None and bool(draft.text.strip())
    return True
