"""“What does my lease say about pets?” by voice: the question is grounded in a document
collection, the sources are shown and never said. Real Whisper, Piper, starter chat and
embedding models, on the virtual devices; the spoken audio is transcribed back."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from app.core.generation import GenerationParams, Message
from app.docs.documents import Documents
from app.docs.embedder import Embedder
from app.docs.store import DocStore
from app.engine.client import EngineClient, RequestHandle
from app.voice.grounded import VOICE_MAX_CHARS, VOICE_TOP_K, GroundedConversation
from app.voice.loop import VoiceConfig
from app.voice.sentences import SentenceSplitter, drop_references
from app.voice.stt import SpeechToText
from app.voice.tts import TextToSpeech
from app.voice.vad import SileroVad
from tests.docs.documents import write_lease_pdf
from tests.voice.audio_env import PulseServer
from tests.voice.conftest import heard_as_said, word_overlap, words
from tests.voice.test_voice_e2e import (
    app_env,
    finish,
    running_loop,
    start_app,
    transcribe_recording,
)

PETS = "What does my lease say about pets?"
CITATION = re.compile(r"\[\s*\d")


# -- what is said of a reply that cites --------------------------------------------------
@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("Pets are allowed [1].", "Pets are allowed."),
        ("You may keep a cat [1, 2] or a dog [3].", "You may keep a cat or a dog."),
        ("One cat is fine (lease.pdf, page 2).", "One cat is fine."),
        (
            "According to lease.pdf, page 2, one cat is fine.",
            "According to the document, one cat is fine.",
        ),
        ("As notes.md says [2], water weekly.", "As the document says, water weekly."),
        ("1. lease.pdf, page 2 — Pets\nOne cat is fine.", "\nOne cat is fine."),
        ("[2] garden.html — Watering", ""),
        ("See [the guide](https://example.org) and version 3.5.", None),  # untouched
    ],
)
def test_references_are_left_out_of_what_is_said(written: str, said: str | None) -> None:
    assert drop_references(written) == (written if said is None else said)


REPLY = (
    "[1] lease.pdf, page 2 — Pets\n"
    "The tenant may keep (lease.pdf, page 2) one cat or one small dog [1, 2]. "
    "According to lease.pdf, page 2, any other animal needs written permission [1] "
    "(handbook.docx, House rules)."
)


@pytest.mark.parametrize("step", [1, 2, 3, 5, 8, 13])
def test_no_reference_reaches_a_spoken_piece_however_the_reply_streams(step: int) -> None:
    splitter = SentenceSplitter(first_clause_words=4, first_phrase_words=2, drop_refs=True)
    pieces = []
    for start in range(0, len(REPLY), step):
        pieces += splitter.feed(REPLY[start : start + step])
    pieces += splitter.flush()
    for piece in pieces:
        for text in (piece.raw, piece.spoken):
            assert not CITATION.search(text) and ".pdf" not in text, pieces
    said = " ".join(piece.raw for piece in pieces)
    assert "one cat or one small dog" in said and "written permission" in said


def test_a_reply_not_from_documents_is_said_with_its_file_names() -> None:
    """Only answers from documents lose their references: elsewhere a file name or a
    bracketed number is part of what the user asked to hear."""
    splitter = SentenceSplitter(first_clause_words=0)
    pieces = splitter.feed("Rename notes.txt to todo.txt first. ") + splitter.flush()
    said = " ".join(piece.spoken for piece in pieces)
    assert "notes" in said and "todo" in said and "the document" not in said


# -- the conversation ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def embedder() -> Embedder:
    from app.docs.embedding_models import default_embedder

    return default_embedder(threads=2)


@pytest.fixture(scope="module")
def lease_docs(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Documents]:
    folder = tmp_path_factory.mktemp("lease")
    write_lease_pdf(folder / "lease.pdf")
    with Documents(DocStore(folder / "conversations.sqlite3"), lambda: embedder) as docs:
        assert not docs.add("lease", [folder / "lease.pdf"]).problems
        yield docs


def test_the_conversation_grounds_each_question_and_keeps_it_plain(
    lease_docs: Documents,
) -> None:
    conversation = GroundedConversation(lease_docs, ["lease"])
    content = conversation.prompt(PETS)
    expected = lease_docs.ground(PETS, ["lease"], top_k=VOICE_TOP_K, max_chars=VOICE_MAX_CHARS)
    assert content == expected.content and "one small dog" in content
    sources = conversation.sources(PETS)
    assert sources == expected.sources()
    assert ("lease.pdf", 2) in [(Path(s["path"]).name, s["page"]) for s in sources or []]
    # Nothing relevant: no sources, the model is told.
    off = "Who won the football world cup in 1998?"
    assert "nothing in them is relevant" in conversation.prompt(off)
    assert conversation.sources(off) == []
    # A question never grounded (a correction's text, say) gets the last one's.
    assert conversation.sources("something else") == []


class RecordingEngine:
    """The real engine, keeping the messages of every request."""

    def __init__(self, engine: EngineClient) -> None:
        self.engine = engine
        self.sent: list[tuple[list[Message], GenerationParams]] = []

    def generate(
        self, messages: Sequence[Message], params: GenerationParams | None = None
    ) -> RequestHandle:
        self.sent.append((list(messages), params or GenerationParams()))
        return self.engine.generate(messages, params)

    def cancel(self, target: Any) -> None:
        self.engine.cancel(target)

    def hold(self, target: Any, seconds: float) -> None:
        self.engine.hold(target, seconds)

    def release(self, target: Any) -> None:
        self.engine.release(target)


def test_a_spoken_question_is_grounded_and_its_references_are_not_said(
    pulse: PulseServer,
    stt: SpeechToText,
    tts: TextToSpeech,
    silero: SileroVad,
    speech_wav: Callable[[str], Path],
    smol_engine: EngineClient,
    lease_docs: Documents,
) -> None:
    # The model is held to a reply that cites by number and by file name.
    forced = (
        "Pets are welcome here [1] (lease.pdf, page 2). Other animals need written permission [2]."
    )
    grammar = 'root ::= "' + forced + '"'
    engine = RecordingEngine(smol_engine)
    conversation = GroundedConversation(lease_docs, ["lease"])
    config = VoiceConfig(language="en", params=GenerationParams(max_tokens=64, grammar=grammar))
    speaker = pulse.recorder("speaker.monitor")
    with running_loop(
        engine, stt, tts, silero, config, max_turns=1, timeout=120, conversation=conversation
    ) as run:
        assert pulse.play(speech_wav(PETS)).wait(20) == 0
        assert run.done.wait(150)
    audio = speaker.stop()
    assert run.error is None, run.error
    (result,) = run.results
    assert word_overlap(PETS, result.question) >= 0.6, result.question

    # The model read the question with the lease's passages.
    replies = [(m, prm) for m, prm in engine.sent if not prm.prefill]
    asked = replies[-1][0][-1]
    expected = lease_docs.ground(
        result.question, ["lease"], top_k=VOICE_TOP_K, max_chars=VOICE_MAX_CHARS
    )
    assert asked == {"role": "user", "content": expected.content}
    sources = conversation.sources(result.question)
    assert ("lease.pdf", 2) in [(Path(s["path"]).name, s["page"]) for s in sources or []]
    # The history keeps the question as spoken, not the passages.
    assert conversation.history()[0] == {"role": "user", "content": result.question}

    # The reply cites; what was said and kept does not, and the speaker carried no reference.
    assert result.reply == forced
    said = " ".join(result.sentences)
    for text in (result.spoken, said):
        assert not CITATION.search(text) and "pdf" not in text and "page" not in text, text
    assert result.spoken == "Pets are welcome here. Other animals need written permission."
    heard = transcribe_recording(stt, audio)
    assert heard_as_said(said, heard, instead=PETS), (said, heard)
    assert not {"one", "two", "pdf", "page", "lease", "bracket"} & set(words(heard)), heard


# -- hearth voice --docs ------------------------------------------------------------------
def test_hearth_voice_docs_answers_from_the_lease_and_shows_its_sources(
    pulse: PulseServer,
    speech_wav: Callable[[str], Path],
    stt: SpeechToText,
    tmp_path: Path,
) -> None:
    env = app_env(pulse, tmp_path / "home")
    lease = write_lease_pdf(tmp_path / "lease.pdf")
    added = subprocess.run(
        [sys.executable, "-m", "app", "docs", "add", str(lease), "-c", "lease"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert added.returncode == 0, added.stderr
    unknown = subprocess.run(
        [sys.executable, "-m", "app", "voice", "--once", "--docs", "nope"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert unknown.returncode == 1 and "nope" in unknown.stderr and "lease" in unknown.stderr

    args = ["--once", "--json", "--docs", "lease", "--timeout", "60", "--temperature", "0"]
    app = start_app(env, *args, "--seed", "1", "--max-tokens", "60")
    assert app.listening.wait(180), app.stderr
    speaker = pulse.recorder("speaker.monitor")
    player = pulse.play(speech_wav(PETS))
    code, out = finish(app)
    assert player.wait(10) == 0
    recording = speaker.stop()
    assert code == 0, app.stderr
    result = json.loads(out)

    assert word_overlap(PETS, result["transcript"]) >= 0.6, result["transcript"]
    sources = result["sources"]
    assert (str(lease), 2) in [(s["path"], s["page"]) for s in sources]  # the Pets page
    assert [s["n"] for s in sources] == list(range(1, len(sources) + 1))
    # Whatever the model wrote, nothing of a reference was said or kept as said.
    said = " ".join(result["sentences"])
    for text in (result["spoken"], said):
        assert not CITATION.search(text) and ".pdf" not in text, text
    assert result["spoken"].strip()
    heard = transcribe_recording(stt, recording)
    assert heard_as_said(said, heard, instead=PETS), (said, heard)
    assert "pdf" not in words(heard), heard
    print(f"reply: {result['reply']!r}\nspoken: {result['spoken']!r}\nstages: {result['stages']}")


def test_the_terminal_shows_the_sources_under_the_answer() -> None:
    import io

    from app.cli.voice import _console_callbacks
    from app.voice.loop import TurnResult

    result = TurnResult(
        transcript=PETS, language="en", reply="One cat is fine [1].", spoken="One cat is fine.",
        sentences=("One cat is fine.",), finish_reason="stop", interrupted=False,
        speculative=False, ended_early=False, timings={}, stages={}, question=PETS,
    )  # fmt: skip
    found = [{"n": 1, "path": "/home/me/lease.pdf", "page": 2, "heading": "Pets"}]
    for sources, shown in (
        (found, "  [1] lease.pdf, page 2 — Pets\n"),
        ([], "  (nothing in the documents is about this)\n"),
    ):
        out, err = io.StringIO(), io.StringIO()
        callbacks = _console_callbacks(err, lambda r, s=sources: s)
        with contextlib.redirect_stdout(out):
            callbacks.turn_finished(result)
        assert out.getvalue() == f"you: {PETS}\nhearth: One cat is fine.\n{shown}"
