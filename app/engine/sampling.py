"""What a reply's sampling may be asked beyond llama.cpp's numbers: a JSON schema it must
follow, biases on tokens, and the log-probability of every token it picks.

Runs in the worker process only (it needs llama.cpp). The grammar and the biases go into
the sampler chain of the worker's token loop (``engine.decode``), or of
``Llama.create_completion`` when log-probabilities are asked for: these are read from the
model's logits right after each token is sampled, so no ``logits_all`` context is needed.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from app.core.errors import ConfigError
from app.core.generation import JSON_OBJECT_SCHEMA, GenerationParams, TokenLogprob
from app.core.i18n import translate

# Alternatives per token, as OpenAI allows.
MAX_TOP_LOGPROBS = 20


def json_grammar(llm: Any, schema: str) -> Any:
    """A ``LlamaGrammar`` that holds a reply to JSON matching ``schema`` (its JSON text).

    Raises ConfigError for a schema llama.cpp cannot turn into a grammar: a grammar that
    does not parse would otherwise crash the worker at the first token.
    """
    from llama_cpp.llama_grammar import JSON_GBNF, LlamaGrammar

    try:
        if schema == JSON_OBJECT_SCHEMA:
            # llama.cpp's own JSON grammar: the schema converter's version of "any object"
            # nests deeper and sampled ~2.5 times slower on the starter model.
            grammar = LlamaGrammar.from_string(JSON_GBNF, verbose=False)
        else:
            grammar = LlamaGrammar.from_json_schema(schema, verbose=False)
            grammar._grammar = _strict_strings(grammar._grammar)
    except Exception as exc:  # the converter asserts and raises anything on odd schemas
        raise ConfigError(
            translate(
                "Errors",
                "The JSON schema cannot be followed ({error}); simplify it or leave out "
                "the keywords it names.",
            ).format(error=exc or type(exc).__name__)
        ) from exc
    _check_parses(
        llm, grammar, "The JSON schema gives a grammar llama.cpp cannot parse; simplify the schema."
    )
    return grammar


# llama-cpp-python's schema converter lets a JSON string hold raw control characters (a
# newline, a tab), which JSON forbids: json.loads refused a forced tool call holding a
# newline. llama.cpp's own converter and JSON grammar exclude them, as here.
_LOOSE_CHAR = r'char ::= [^"\\] |'
_JSON_CHAR = r'char ::= [^"\\\x7F\x00-\x1F] |'


def _strict_strings(grammar: str) -> str:
    """``grammar`` with its JSON string characters limited to what JSON allows."""
    lines = grammar.split("\n")
    for index, line in enumerate(lines):
        if line.startswith(_LOOSE_CHAR):
            lines[index] = _JSON_CHAR + line[len(_LOOSE_CHAR) :]
    return "\n".join(lines)


def gbnf_grammar(llm: Any, text: str) -> Any:
    """A ``LlamaGrammar`` from GBNF ``text`` (llama.cpp's grammar format, root rule
    ``root``).

    Raises ConfigError for a grammar llama.cpp cannot parse, before the first token.
    """
    from llama_cpp.llama_grammar import LlamaGrammar

    if not text.strip():
        raise ConfigError(
            translate("Errors", "The grammar is empty; give GBNF rules with a 'root' rule.")
        )
    try:
        grammar = LlamaGrammar.from_string(text, verbose=False)
    except Exception as exc:
        raise ConfigError(
            translate(
                "Errors",
                "The grammar cannot be read ({error}); check its GBNF syntax.",
            ).format(error=exc or type(exc).__name__)
        ) from exc
    _check_parses(
        llm,
        grammar,
        "The grammar is not valid GBNF for llama.cpp (a syntax error, an undefined rule "
        "or no 'root' rule); fix it and try again.",
    )
    return grammar


def _check_parses(llm: Any, grammar: Any, message: str) -> None:
    """Raise ConfigError(``message``) unless llama.cpp parses ``grammar``: one that does
    not would otherwise fail inside the sampler chain at the first token."""
    import llama_cpp

    sampler = llama_cpp.llama_sampler_init_grammar(
        llm._model.vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8")
    )
    if not sampler:
        raise ConfigError(message)
    llama_cpp.llama_sampler_free(sampler)


def logit_bias(llm: Any, pairs: tuple[tuple[int, float], ...]) -> dict[int, float] | None:
    """``pairs`` as llama-cpp-python takes them, each token id checked against the model."""
    if not pairs:
        return None
    n_vocab = int(llm.n_vocab())
    for token, _bias in pairs:
        if not 0 <= token < n_vocab:
            raise ConfigError(
                translate(
                    "Errors",
                    "logit_bias names token {token}, but this model's tokens are numbered 0 "
                    "to {last}.",
                ).format(token=token, last=n_vocab - 1)
            )
    return dict(pairs)


@dataclass
class _Sampled:
    token: int
    data: bytes
    logprob: float
    top: tuple[tuple[int, float], ...]


@dataclass
class LogprobRecorder:
    """Keeps each token ``llm`` samples with its log-probability and ``top`` alternatives,
    and hands them out as :class:`TokenLogprob` in step with the text sent.

    The reply's text is its tokens' bytes joined, less what llama-cpp-python holds back
    (a stop sequence, the end-of-generation token); :meth:`take` and :meth:`finish` give
    only tokens inside the text, so the tokens given always join to it.
    """

    llm: Any
    top: int
    _sampled: list[_Sampled] = field(default_factory=list)
    _given: int = 0  # tokens handed out so far
    _entries: list[TokenLogprob] = field(default_factory=list)  # as handed out
    _given_bytes: int = 0  # their bytes
    _chars: int = 0  # their characters
    _decoder: Any = field(default_factory=lambda: codecs.getincrementaldecoder("utf-8")("ignore"))

    def recording(self, stream: Iterator[Any]) -> Iterator[Any]:
        """``stream`` (a ``create_completion`` stream), recording every token sampled
        while it runs.

        ``Llama.generate`` calls ``self.sample`` once per token; wrapping it on the
        instance is the one place both the logits and the chosen token are at hand. The
        wrapper goes when the stream ends, however it ends.
        """
        llm = self.llm
        original = llm.sample

        def sample(*args: Any, **kwargs: Any) -> int:
            token = int(original(*args, **kwargs))
            idx = kwargs.get("idx")
            self._record(token, -1 if idx is None else int(idx) - llm.n_tokens)
            return token

        llm.sample = sample
        try:
            yield from stream
        finally:
            llm.__dict__.pop("sample", None)  # the class's method again

    def _record(self, token: int, row: int) -> None:
        import llama_cpp
        import numpy as np

        llm = self.llm
        if llama_cpp.llama_vocab_is_eog(llm._model.vocab, token):
            return  # ends the reply, adds no text
        n_vocab = int(llm.n_vocab())
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, row), (n_vocab,))
        shifted = logits.astype(np.float64) - float(logits.max())
        logprobs = shifted - float(np.log(np.exp(shifted).sum()))
        top: tuple[tuple[int, float], ...] = ()
        if self.top:
            best = np.argpartition(-logprobs, self.top)[: self.top]
            best = best[np.argsort(-logprobs[best])]
            top = tuple((int(i), float(logprobs[i])) for i in best)
        data = bytes(llm.detokenize([token]))
        self._sampled.append(_Sampled(token, data, float(logprobs[token]), top))

    def take(self, text_bytes: int) -> tuple[TokenLogprob, ...]:
        """The tokens not handed out yet that lie wholly within the first ``text_bytes``
        bytes of the reply."""
        taken: list[TokenLogprob] = []
        while self._given < len(self._sampled):
            sampled = self._sampled[self._given]
            if self._given_bytes + len(sampled.data) > text_bytes:
                break
            taken.append(self._entry(sampled, sampled.data))
        return tuple(taken)

    def finish(self, text_bytes: int) -> tuple[TokenLogprob, ...]:
        """The rest of the tokens inside a reply of ``text_bytes`` bytes; a token that a
        stop sequence cut keeps only its bytes inside the reply."""
        taken = list(self.take(text_bytes))
        if self._given < len(self._sampled) and self._given_bytes < text_bytes:
            sampled = self._sampled[self._given]
            taken.append(self._entry(sampled, sampled.data[: text_bytes - self._given_bytes]))
        return tuple(taken)

    def given(self) -> tuple[TokenLogprob, ...]:
        """Every token handed out so far, in order."""
        return tuple(self._entries)

    def _entry(self, sampled: _Sampled, data: bytes) -> TokenLogprob:
        offset = self._chars
        self._chars += len(self._decoder.decode(data))
        self._given += 1
        self._given_bytes += len(data)
        top = tuple(
            TokenLogprob(_text(piece), piece, logprob)
            for piece, logprob in ((bytes(self.llm.detokenize([i])), lp) for i, lp in sampled.top)
        )
        entry = TokenLogprob(_text(data), data, sampled.logprob, offset, top)
        self._entries.append(entry)
        return entry


def _text(data: bytes) -> str:
    """A token as text; a piece of a character shows as U+FFFD (its bytes are exact)."""
    return data.decode("utf-8", errors="replace")


def recorder_for(llm: Any, params: GenerationParams) -> LogprobRecorder | None:
    if params.logprobs is None:
        return None
    return LogprobRecorder(llm, min(max(params.logprobs, 0), MAX_TOP_LOGPROBS))
