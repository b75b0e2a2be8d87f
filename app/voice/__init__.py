"""Voice conversation: capture, end-of-speech detection, Whisper, Piper, playback, the loop.

No Qt here, and no heavy import at module level (sounddevice, onnxruntime, faster_whisper,
piper are imported inside the functions that need them), so importing ``app.voice`` costs
nothing until a microphone is opened or a model is loaded.

Modules:

- ``audio_io``   devices, 16 kHz capture with resampling, pre-roll ring, level meter,
                 playback at the device's rate with an immediate stop
- ``vad``        Silero VAD (the ONNX model faster-whisper ships) frame by frame, and the
                 end-of-speech detector with its silence hang-over
- ``stt``        faster-whisper loading (split ``model.bin`` joined in memory) and guarded
                 transcription
- ``sentences``  streaming sentence splitter and the text cleaner for speech
- ``tts``        Piper synthesis, one sentence at a time
- ``sound_server`` the sound server's own sources and sinks (PulseAudio, PipeWire)
- ``loop``       the listening → transcribing → thinking → speaking state machine
- ``session``    settings, and opening devices and models together
"""
