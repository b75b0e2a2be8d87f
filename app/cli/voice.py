"""``hearth voice``: talk with Hearth without a window.

``hearth voice`` listens on the default microphone and answers aloud until Ctrl+C.
``hearth voice --once --json`` answers one utterance and prints one JSON object: the
transcript, the reply, what was said aloud, and the time of each stage, in seconds after
the end of speech (``--json`` alone prints one such line per exchange).
``hearth voice --wake-word`` answers only what follows "Hey Hearth" (see
:mod:`app.voice.wake_word`); a chime and a ``[heard 'Hey Hearth': listening]`` line on
stderr say it was heard.
``hearth voice --docs NAME`` answers from a document collection: the sources are shown
(and in the JSON, ``"sources"``), never said.

Defaults come from the settings file's ``"voice"`` object when present (keys:
``input_device``, ``output_device``, ``language``, ``barge_in``, ``push_to_talk``,
``silence_ms``, ``quick_end``, ``speed``, ``stt_model``, ``voice``, ``wake_word``);
command-line options win.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
from typing import TYPE_CHECKING, Any

from app.core.errors import VoiceError

if TYPE_CHECKING:
    from app.voice.conversation import MemoryConversation

log = logging.getLogger(__name__)


def add_voice_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``voice`` command to ``hearth``'s subparsers."""
    from app.cli.args import (
        add_cpu_moe,
        add_draft,
        add_flash_attn,
        add_kv_type,
        add_lora,
        gpu_layers_arg,
        number_in,
        positive_int,
        whole_in,
    )
    from app.core.generation import sampling_defaults
    from app.core.ranges import (
        FINAL_TAKES,
        SAMPLING,
        SILENCE_MS,
        SPEAKING_RATE,
        TIMEOUT_S,
        VAD_THRESHOLD,
    )

    voice: argparse.ArgumentParser = subparsers.add_parser(
        "voice", help="talk with Hearth: it listens, answers and speaks (no window)"
    )
    voice.add_argument("--once", action="store_true", help="answer one utterance, then exit")
    voice.add_argument(
        "--json",
        action="store_true",
        help="print JSON: one object (--once), else one line per exchange",
    )
    voice.add_argument("--list-devices", action="store_true", help="list audio devices and exit")
    voice.add_argument("--model", "-m", help="chat model file or library name")
    voice.add_argument("--stt", help="Whisper model folder or library name")
    voice.add_argument("--voice", help="Piper voice (.onnx) or library name")
    voice.add_argument(
        "--language", help="language spoken: en, zh, ... or 'auto' to detect (default: auto)"
    )
    voice.add_argument("--input-device", help="microphone: number or part of its name")
    voice.add_argument("--output-device", help="speaker: number or part of its name")
    voice.add_argument(
        "--input-rate", type=positive_int, help="open the microphone at this rate (Hz)"
    )
    voice.add_argument(
        "--output-rate", type=positive_int, help="open the speaker at this rate (Hz)"
    )
    voice.add_argument(
        "--push-to-talk", action="store_true", help="press Enter to start and to stop talking"
    )
    voice.add_argument(
        "--no-barge-in", action="store_true", help="do not stop speaking when the user talks"
    )
    voice.add_argument(
        "--no-speculative", action="store_true", help="transcribe only after the hang-over"
    )
    voice.add_argument(
        "--wake-word",
        action="store_true",
        help='answer only what follows "Hey Hearth" (a chime says it was heard)',
    )
    voice.add_argument(
        "--silence-ms",
        type=whole_in(SILENCE_MS),
        help="silence that ends an utterance, 200 to 3000 (default 600)",
    )
    voice.add_argument(
        "--no-quick-end",
        action="store_true",
        help=(
            "always wait for --silence-ms, even after a finished sentence (otherwise 300 ms "
            "of silence ends it, 150 ms with Whisper on a GPU)"
        ),
    )
    voice.add_argument(
        "--wait-for-final",
        action="store_true",
        help="speak only once Whisper's full pass has confirmed the question "
        "(default: answer the quick draft at once, redo if the full pass differs)",
    )
    voice.add_argument(
        "--answer-unsure-drafts",
        action="store_true",
        help="answer the quick draft at once even when Whisper is unsure of it (default: "
        "wait for the full pass then, as most such drafts are misheard)",
    )
    voice.add_argument(
        "--final-takes",
        type=whole_in(FINAL_TAKES),
        metavar="N",
        help="decode each question N times, each cut 16 ms later, and keep the surest text "
        "(1 to 5; default 3 with Whisper on a GPU, 1 on the CPU, where each take costs a "
        "full pass)",
    )
    voice.add_argument(
        "--speed",
        type=number_in(SPEAKING_RATE),
        help="speaking rate, 0.5 to 2.0 (default 1: the voice's own)",
    )
    voice.add_argument(
        "--vad-threshold",
        type=number_in(VAD_THRESHOLD),
        help="speech probability, above 0.15 and at most 1 (default 0.5)",
    )
    voice.add_argument(
        "--timeout",
        type=number_in(TIMEOUT_S),
        default=60.0,
        help="with --once: give up when no speech is heard for this many seconds",
    )
    voice.add_argument("--system", help="system prompt")
    voice.add_argument(
        "--image",
        action="append",
        metavar="FILE",
        help="spoken questions are about this image (repeat for several); "
        "needs a model that can see images",
    )
    voice.add_argument("--mmproj", metavar="FILE", help="the vision projector to load")
    voice.add_argument(
        "--docs",
        action="append",
        metavar="NAME",
        help="answer from this document collection (repeat for more); sources are shown, not said",
    )
    sampling = sampling_defaults("voice")
    voice.add_argument(
        "--max-tokens", type=whole_in(SAMPLING["max_tokens"]), default=sampling.max_tokens
    )
    voice.add_argument(
        "--temperature", type=number_in(SAMPLING["temperature"]), default=sampling.temperature
    )
    voice.add_argument("--seed", type=int)
    voice.add_argument("--ctx", type=positive_int, help="context length (default: settings)")
    voice.add_argument("--gpu-layers", type=gpu_layers_arg, default=None, metavar="N|auto")
    voice.add_argument("--threads", type=positive_int, help="CPU threads for generation")
    add_kv_type(voice)
    add_flash_attn(voice)
    add_cpu_moe(voice)
    add_draft(voice)
    add_lora(voice, "apply this LoRA adapter (GGUF) at SCALE (default 1) to the spoken "
             "answers (repeat for several); it must be made for the model")  # fmt: skip
    voice.add_argument("--stt-device", choices=["auto", "cpu", "cuda"], default="auto")
    # SUPPRESS: ``hearth -v voice`` keeps the top-level flag's value.
    voice.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log debug detail"
    )
    return voice


def _list_devices() -> int:
    from app.voice.audio_io import list_devices

    devices = list_devices()
    if not devices:
        print("No audio devices were found.", file=sys.stderr)
        return 1
    for d in devices:
        marks = []
        if d.is_default_input:
            marks.append("default input")
        if d.is_default_output:
            marks.append("default output")
        extra = f"  [{', '.join(marks)}]" if marks else ""
        print(
            f"{d.index:3d}  {d.name}  ({d.hostapi}; in {d.max_input_channels}, "
            f"out {d.max_output_channels}, {d.default_samplerate:.0f} Hz){extra}"
        )
    return 0


def run_voice(args: argparse.Namespace) -> int:
    """Run ``hearth voice``; HearthErrors propagate to the caller (one sentence, exit 1)."""
    if args.list_devices:
        return _list_devices()

    from app.cli.args import overrides_from_args
    from app.cli.images import cannot_see, check_projector, check_sees, read_images
    from app.composition.context import open_app_context
    from app.composition.options import default_model, load_options
    from app.composition.voice import VoiceRun, assemble_voice_loop
    from app.core.generation import GenerationParams
    from app.engine import protocol as p
    from app.engine.client import EngineClient
    from app.voice.audio_io import resolve_device
    from app.voice.chinese_script import in_script
    from app.voice.loop import VoiceCallbacks
    from app.voice.session import VoiceSettings

    # --image: the pictures every spoken question is about, read and checked first.
    images = read_images(args.image or [])
    check_projector(args.mmproj)
    context = open_app_context(verbose=getattr(args, "verbose", False))
    # The saved settings (the window's voice page), with the command line's options on top.
    settings = VoiceSettings.from_dict(context.settings.extra.get("voice"))
    overrides = {
        "input_device": args.input_device,
        "output_device": args.output_device,
        "language": args.language,
        "stt_model": args.stt,
        "voice": args.voice,
        "silence_ms": args.silence_ms,
        "speed": args.speed,
        "final_takes": args.final_takes,
    }
    settings = VoiceSettings.from_dict(
        {**settings.to_dict(), **{k: v for k, v in overrides.items() if v is not None}}
    )
    if args.push_to_talk:
        settings.push_to_talk = True
    if args.no_barge_in:
        settings.barge_in = False
    if args.no_quick_end:
        settings.quick_end = False
    if args.wait_for_final:
        settings.wait_for_final = True
    if args.answer_unsure_drafts:
        settings.answer_unsure_drafts = True
    if args.wake_word:
        settings.wake_word = True
    # Nobody can type a correction here: the window's wait for one would only delay answers.
    settings.correction_grace_s = 0.0

    # --lora, like the other arguments, before the devices: each must fit the model.
    loras = tuple(args.lora or ())
    if loras:
        from app.engine.lora import check_adapters_for

        check_adapters_for(default_model(context.library, context.settings, args.model).path, loras)
    # Devices first: no microphone is the commonest fault, and saying so needs no model.
    resolve_device(settings.input_device, "input")
    resolve_device(settings.output_device, "output")
    entry = default_model(context.library, context.settings, args.model)
    # The options hearth chat and the window load this model with (same GPU plan).
    options = load_options(
        entry, context.settings, overrides_from_args(args), library=context.library
    )
    if images and options.mmproj is None:
        raise cannot_see(entry, context.library)
    # With --docs the questions are answered from those collections (checked now: an
    # unknown name is one sentence before any model loads).
    conversation, system_prompt = _conversation(args)
    # The first question carries them; the history keeps them for the turns after it.
    conversation.attach([image.data for image in images])

    def sources(result: Any) -> list[dict[str, Any]] | None:
        found = getattr(conversation, "sources", None)
        return found(result.question) if found is not None else None

    # Where Whisper and the chat model run, filled in once they are loaded: every JSON
    # line says it (the voice benchmark reports the devices it measured).
    ran_on: dict[str, Any] = {}

    def as_json(result: Any) -> dict[str, Any]:
        payload: dict[str, Any] = result.to_dict()
        if args.docs:
            payload["sources"] = sources(result) or []
        payload.update(ran_on)
        return payload

    callbacks = VoiceCallbacks(wake_heard=_wake_printer(sys.stderr))
    if not args.json:
        callbacks = _console_callbacks(sys.stderr, sources)
    elif not args.once:  # --json without --once: one JSON object per line, per turn
        callbacks = VoiceCallbacks(
            turn_finished=lambda r: print(json.dumps(as_json(r), ensure_ascii=False), flush=True),
            wake_heard=_wake_printer(sys.stderr),
        )

    client = EngineClient(log_file=str(context.paths.log_file))
    run: VoiceRun | None = None
    try:
        # The engine loads in its own process while Whisper and Piper load here.
        load = client.load(options.path, **options.load_kwargs())
        loaded: list[p.ModelLoaded] = []

        def engine_ready() -> None:
            final = load.wait(timeout=300)
            assert isinstance(final, p.ModelLoaded)
            if final.notice:  # e.g. the model's chat template failed; a built-in one is used
                print(f"[{final.notice}]", file=sys.stderr, flush=True)
            loaded.append(final)

        from app.cli.chat_tools import print_call
        from app.tools.agent import voice_tool_engine
        from app.tools.registry import ToolRegistry

        # Tools enabled in Preferences run in spoken answers too (only the answer is said);
        # one that asks is asked aloud by the loop (built below, hence the late binding).
        registry = ToolRegistry.from_settings(context.settings)
        built: list[VoiceRun] = []

        def ask(tool: Any, call: Any) -> bool:
            if not built:
                return False
            print(f"[permission asked for {tool.name}: say yes or no]", file=sys.stderr)
            return built[0].loop.ask_tool(tool, call)

        run = assemble_voice_loop(
            voice_tool_engine(client, registry, on_call=print_call, ask=ask),
            context.library,
            settings,
            conversation,  # hearth voice saves nothing: the conversation is in memory
            system_prompt=system_prompt,
            params=GenerationParams(
                max_tokens=args.max_tokens,
                temperature=args.temperature,
                seed=args.seed,
                n_threads=options.n_threads,
                loras=loras,  # every spoken answer, applied without a reload
            ),
            callbacks=callbacks,
            speculative=not args.no_speculative,
            vad_threshold=args.vad_threshold,
            stt_device=args.stt_device,
            input_rate=args.input_rate,
            output_rate=args.output_rate,
            engine_ready=engine_ready,
        )
        assert run is not None  # nothing stops it before it is built
        built.append(run)
        final = loaded[0]
        if images:  # the projector may not fit the model: the load says so
            check_sees(entry, options.mmproj, final, context.library)
        loop, parts = run.loop, run.parts
        ran_on["stt"] = {
            "model": parts.stt.name,
            "device": parts.stt.device,
            "notice": parts.stt.notice,  # why on the CPU though a GPU was found, or None
        }
        ran_on["llm"] = {
            "backend": final.backend,
            "n_gpu_layers": final.n_gpu_layers,
            "plan": final.plan,
        }
        config = loop.config
        capture, player = parts.capture, parts.player
        if config.push_to_talk:
            _start_ptt_reader(loop)
        if parts.stt.notice:  # Whisper on the CPU though a GPU was found: why
            print(f"[{parts.stt.notice}]", file=sys.stderr)
        # On stderr even with --json: scripts (and the tests) wait for this line.
        how = "Press Enter to talk" if config.push_to_talk else "Speak"
        if config.wake is not None and not config.push_to_talk:
            how = 'Say "Hey Hearth", then your question'
        print(f"Listening on {capture.device.name!r}. {how}; Ctrl+C quits.", file=sys.stderr)
        sys.stderr.flush()
        if args.once:
            results = loop.run(max_turns=1, timeout=args.timeout)
            if not results:
                raise VoiceError(f"No speech was heard in {args.timeout:.0f} s.")
            if args.json:
                # As shown and stored: Chinese in the script the settings ask for.
                payload = as_json(in_script(results[0], settings.chinese_script))
                payload["model"] = final.path
                payload["mmproj"] = final.mmproj  # the projector that read --image (or None)
                payload["notice"] = payload.get("notice") or final.notice
                payload["voice"] = parts.tts.name
                payload["devices"] = {
                    "input": capture.device.name,
                    "input_rate": capture.device_rate,
                    "output": player.device.name,
                    "output_rate": player.rate,
                    "output_latency_s": round(player.latency, 4),
                }
                print(json.dumps(payload, ensure_ascii=False))
            return 0
        try:
            loop.run()
        except KeyboardInterrupt:
            loop.stop()
        if not args.json:
            print(file=sys.stderr)
        return 0
    finally:
        if run is not None:
            run.close()
        client.shutdown()
        documents = getattr(conversation, "documents", None)
        if documents is not None:
            documents.close()


def _conversation(args: argparse.Namespace) -> tuple[MemoryConversation, str | None]:
    """The conversation ``hearth voice`` keeps in memory, and its system prompt: with
    ``--docs``, one whose questions are grounded in those collections."""
    from app.voice.conversation import MemoryConversation

    if not args.docs:
        return MemoryConversation(), args.system
    from app.cli.docs import open_documents
    from app.voice.grounded import SPOKEN_SOURCES_NOTE, GroundedConversation
    from app.voice.loop import DEFAULT_SYSTEM_PROMPT

    documents = open_documents()
    try:
        names = [documents.collection(name).name for name in dict.fromkeys(args.docs)]

        def warm_up() -> None:  # the embedding model loads while the other models do
            try:
                documents.search("warm up", names, top_k=1)
            except Exception as exc:  # the first question will say what is wrong
                log.debug("documents warm-up: %s", exc)

        threading.Thread(target=warm_up, name="docs-warm-up", daemon=True).start()
    except BaseException:
        documents.close()
        raise
    system = (args.system or DEFAULT_SYSTEM_PROMPT) + SPOKEN_SOURCES_NOTE
    return GroundedConversation(documents, names), system


def _console_callbacks(out: Any, sources: Any = None) -> Any:
    from app.voice.loop import TurnResult, VoiceCallbacks, VoiceState

    def state(s: VoiceState) -> None:
        out.write(f"\r[{s.value}]" + " " * 12 + "\r")
        out.flush()

    def finished(result: TurnResult) -> None:
        if result.carried:  # nothing of a reply was heard: the question is still open
            print(f"you: {result.transcript} …", flush=True)
            print("  (listening on: this goes with what you say next)", flush=True)
            return
        if result.not_heard:  # speech Whisper could not make out: Hearth said so
            print("you: (not made out)", flush=True)
            print(f"hearth: {result.spoken}", flush=True)
            return
        stop = " (interrupted)" if result.interrupted else ""
        total = result.stages.get("total")
        took = f" [{total:.2f} s to first audio]" if total is not None else ""
        print(f"you: {result.transcript}", flush=True)
        print(f"hearth: {result.spoken}{stop}{took}", flush=True)
        found = sources(result) if sources is not None else None
        if found == []:
            print("  (nothing in the documents is about this)", flush=True)
        for source in found or []:  # shown, never said
            from app.docs.grounding import label

            where = label(source["path"], source["page"], source["heading"])
            print(f"  [{source['n']}] {where}", flush=True)
        if result.notice:  # e.g. the chat template ran away on this turn: a built-in one answered
            print(f"[{result.notice}]", file=out, flush=True)

    return VoiceCallbacks(
        state_changed=state, turn_finished=finished, wake_heard=_wake_printer(out)
    )


def _wake_printer(out: Any) -> Any:
    """The wake phrase was heard: a line on ``out`` (stderr, with --json too)."""

    def woke(phrase: str) -> None:
        out.write(f"\r[heard {phrase!r}: listening]\n")
        out.flush()

    return woke


def _start_ptt_reader(loop: Any) -> None:
    """Enter toggles recording (a terminal has no key-up events)."""

    def read() -> None:
        recording = False
        for _line in sys.stdin:
            if recording:
                loop.release()
            else:
                loop.press()
            recording = not recording
            print("[recording]" if recording else "[sent]", file=sys.stderr, flush=True)

    threading.Thread(target=read, name="ptt-stdin", daemon=True).start()
