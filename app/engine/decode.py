"""A reply's token loop on llama-cpp-python's low-level API: sampling runs in C.

``Llama.create_completion`` costs a fixed ~0.5 ms of Python per token on top of
llama.cpp's own decode: it detokenizes the whole reply again at every token (three
times), scans all of it for every stop sequence, and walks its stream bookkeeping.
This loop does per token only: one ``llama_sampler_sample`` (a sampler chain in C, but
for the repeat penalty, which touches only the recent tokens: engine.penalties), one
``llama_token_to_piece`` (cached), a stop-sequence check on the text's tail, and one
``llama_decode`` of a one-token batch. No logits reach NumPy.

It answers as ``create_completion`` does, token for token: the same sampler chain in the
same order (``Llama._init_sampler``), the same seed rule, the same prompt-prefix reuse of
the KV cache (``Llama.generate``), the same stop, end-of-generation and length rules,
and the same quirk of running past ``max_tokens`` while a UTF-8 character is
incomplete. It keeps the ``Llama`` object's own token bookkeeping (``n_tokens``,
``input_ids``), so the next reply, through either path, reuses the cached prefix.
Log-probabilities are not recorded here (the worker uses ``create_completion`` then).
With a drafter (``engine.speculative``), drafted tokens are decoded in one batch and
verified position by position with the same sampler chain.
"""

from __future__ import annotations

import codecs
import ctypes
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

from app.core.generation import GenerationParams
from app.engine.penalties import RecentPenalty
from app.engine.speculative import Drafter, PromptLookup, drafting_supported

# Enough for any token's text (llama-cpp-python's own buffer holds 32 bytes).
_PIECE_BYTES = 256


class TokenLoop:
    """One reply: iterate :meth:`texts` for its text in pieces, then read the results.

    ``should_stop`` is called after every token is sampled (where llama-cpp-python calls
    its stopping criteria): True drops that token and ends the reply, as a cancel does.
    """

    def __init__(
        self,
        llm: Any,
        prompt: list[int],
        params: GenerationParams,
        *,
        max_tokens: int | None,
        stop: list[str],
        grammar: Any = None,
        bias: dict[int, float] | None = None,
        should_stop: Callable[[], bool] = lambda: False,
        drafter: Drafter | None = None,
    ) -> None:
        self.llm = llm
        self.prompt = list(prompt)
        self.params = params
        self.max_tokens = max_tokens
        self.stop = [s.encode("utf-8") for s in stop if s]
        self.grammar = grammar
        self.bias = bias
        self.should_stop = should_stop
        self.finish_reason = "length"
        self.tokens: list[int] = []  # the reply's tokens (no end-of-generation token)
        self.sampled = 0  # tokens sampled, an end-of-generation token included
        self.stopped = False  # should_stop ended the reply
        self.reused = 0  # prompt tokens the KV cache already held (not evaluated again)
        # Speculative decoding (engine.speculative): drafts verified in one batch each.
        self.drafter = drafter

    def texts(self) -> Iterator[str]:
        """The reply's text as it grows: whole characters only, never a piece of what
        may still become a stop sequence; the pieces join to the reply."""
        import llama_cpp as lc

        llm = self.llm
        n_ctx = int(llm.n_ctx())
        prompt = self.prompt
        if len(prompt) >= n_ctx:
            raise ValueError(f"Requested tokens ({len(prompt)}) exceed context window of {n_ctx}")
        max_tokens = self.max_tokens
        if max_tokens is None or max_tokens <= 0:
            max_tokens = n_ctx - len(prompt)
        if max_tokens + len(prompt) >= n_ctx:
            max_tokens = n_ctx - len(prompt)
        seed = self.params.seed
        # As create_completion: without a seed, the next seed follows from the last one.
        llm.set_seed(seed if seed is not None else random.Random(llm._seed).randint(0, 2**32))
        keep: list[Any] = []
        chain = _sampler_chain(llm, self.params, self.grammar, self.bias, keep)
        try:
            yield from self._run(lc, chain, max_tokens)
        finally:
            lc.llama_sampler_free(chain)
            keep.clear()  # the Python samplers only once the chain is gone

    def _run(self, lc: Any, chain: Any, max_tokens: int) -> Iterator[str]:
        llm = self.llm
        ctx = llm.ctx
        vocab = llm._model.vocab
        n_ctx = int(llm.n_ctx())
        suffix = _uncached_suffix(llm, self.prompt)
        self.reused = len(self.prompt) - len(suffix)
        llm.eval(suffix)  # batched like llama-cpp-python
        sample = lc.llama_sampler_sample
        decode = lc.llama_decode
        batch_one = lc.llama_batch_get_one
        is_eog = lc.llama_vocab_is_eog
        one = (lc.llama_token * 1)()
        pieces = _Pieces(lc, vocab)
        stops = self.stop
        longest_stop = max((len(s) for s in stops), default=0)
        text = bytearray()
        checked = 0  # text[:checked] holds no stop sequence
        emitted = 0  # bytes of text already given to the decoder
        decoder = codecs.getincrementaldecoder("utf-8")("ignore")
        multibyte_fix = 0
        end: int | None = None  # where the reply's text ends (a stop sequence starts)
        tokens = self.tokens
        should_stop = self.should_stop
        drafter = self.drafter if self.drafter is not None and drafting_supported(llm) else None
        if drafter is not None:
            drafter.extend(self.prompt)
        verify = _Verifier(lc, llm)
        # Prompt lookup drafts only what pays for the batch costs measured here.
        costs = drafter.costs if isinstance(drafter, PromptLookup) and drafter.adaptive else None
        clock = time.perf_counter
        while True:
            token = sample(chain, ctx, verify.index)
            self.sampled += 1
            if should_stop():
                self.stopped = True
                self.finish_reason = "stop"
                break
            if is_eog(vocab, token):
                self.finish_reason = "stop"
                break
            tokens.append(token)
            text += pieces.get(token)
            # create_completion waits while the text ends inside a UTF-8 character, and
            # checks neither stop sequences nor the length meanwhile (nor for one token
            # more than needed): the same rule, so the same tokens end the reply.
            multibyte_fix = _unfinished_character(text, multibyte_fix)
            if multibyte_fix > 0:
                multibyte_fix -= 1
            else:
                if stops:
                    found = _find_stop(text, stops, max(0, checked - longest_stop + 1))
                    checked = len(text)
                    if found is not None:
                        end = found
                        self.finish_reason = "stop"
                        break
                    safe = len(text) - _held_back(text, stops)
                else:
                    safe = len(text)
                if safe > emitted:
                    piece = decoder.decode(bytes(text[emitted:safe]))
                    emitted = safe
                    if piece:
                        yield piece
                if len(tokens) >= max_tokens:
                    self.finish_reason = "length"
                    break
            if drafter is not None:
                drafter.extend([token])
                if verify.holds(token):
                    continue  # the drafted token was sampled: its logits are already there
                verify.settle(drafter)
            if llm.n_tokens + 1 > n_ctx:
                break  # only past max_tokens (an unfinished character): the context is full
            draft = (
                drafter.draft(min(max_tokens - len(tokens), n_ctx - llm.n_tokens, llm.n_batch) - 1)
                if drafter is not None
                else []
            )
            if draft:
                started = clock()
                verify.decode(token, draft)
                if costs is not None:
                    costs.observe(len(draft) + 1, clock() - started)
                continue
            # The token goes into the context only now that another one is wanted, as in
            # Llama.generate, so the KV cache afterwards holds the same tokens.
            one[0] = token
            started = clock()
            code = decode(ctx, batch_one(one, 1))
            if costs is not None:
                costs.observe(1, clock() - started)
            if code != 0:
                raise RuntimeError(f"llama_decode returned {code}")
            llm.input_ids[llm.n_tokens] = token
            llm.n_tokens += 1
        if drafter is not None:
            verify.settle(drafter)  # the reply ended inside a draft: drop its unused tail
        if end is None and stops and checked < len(text):
            # Tokens after the last check (an unfinished character) may hold a stop.
            end = _find_stop(text, stops, max(0, checked - longest_stop + 1))
        if end is None:
            end = len(text)
        rest = decoder.decode(bytes(text[emitted:end]), final=True) if end >= emitted else ""
        if rest:
            yield rest


class _Verifier:
    """A draft in the KV cache: the last sampled token and the drafted ones after it,
    decoded in one batch with logits at every position; the next token is sampled from
    the logits of :attr:`index` (-1, the last decode's, when no draft is in the cache)."""

    def __init__(self, lc: Any, llm: Any) -> None:
        self._lc = lc
        self._llm = llm
        self.batch: list[int] = []
        self.index = -1
        self._pos = 0  # the batch's first position in the KV cache
        self._n_tokens = 0  # llm.n_tokens before the batch

    def decode(self, token: int, draft: list[int]) -> None:
        """Decode ``token`` (sampled, not yet in the cache) and ``draft`` after it."""
        lc, llm = self._lc, self._llm
        batch = [token, *draft]
        # Positions follow the cache's own (as llama_batch_get_one's do), which an
        # image's tokens may have moved away from n_tokens.
        self._pos = int(lc.llama_memory_seq_pos_max(lc.llama_get_memory(llm.ctx), 0)) + 1
        self._n_tokens = llm.n_tokens
        llm._batch.set_batch(batch, n_past=self._pos, logits_all=True)
        llm._ctx.decode(llm._batch)
        llm.input_ids[llm.n_tokens : llm.n_tokens + len(batch)] = batch
        llm.n_tokens += len(batch)
        self.batch = batch
        self.index = 0

    def holds(self, token: int) -> bool:
        """Whether the token just sampled is the draft's next: then sample the next one
        from the following position's logits."""
        following = self.index + 1
        if self.batch and following < len(self.batch) and self.batch[following] == token:
            self.index = following
            return True
        return False

    def settle(self, drafter: Drafter) -> None:
        """End the draft: the tokens after the last one sampled from leave the cache."""
        if not self.batch:
            return
        llm = self._llm
        keep = self.index + 1
        if keep < len(self.batch):
            memory = self._lc.llama_get_memory(llm.ctx)
            if not self._lc.llama_memory_seq_rm(memory, 0, self._pos + keep, -1):
                raise RuntimeError("llama.cpp could not remove a rejected draft from the cache")
            llm.n_tokens = self._n_tokens + keep
            # The context's last logits are the removed position's: a next reply with
            # this very prompt must evaluate its last token again.
            llm._requires_eval = True
        drafter.record(len(self.batch) - 1, self.index)
        self.batch = []
        self.index = -1


def _sampler_chain(
    llm: Any, params: GenerationParams, grammar: Any, bias: Any, keep: list[Any]
) -> Any:
    """The sampler chain ``Llama._init_sampler`` builds, in its order, for these params;
    Python samplers in it are put in ``keep``, which must outlive the chain.

    llama-cpp-python applies a logit bias with a Python sampler first in the chain (on the
    full vocabulary, in token order); llama.cpp's logit-bias sampler there adds the same
    float32 numbers (NumPy adds a Python float to a float32 in float32).
    """
    import llama_cpp as lc

    chain = lc.llama_sampler_chain_init(lc.llama_sampler_chain_default_params())

    def add(sampler: Any) -> None:
        lc.llama_sampler_chain_add(chain, sampler)

    n_vocab = int(llm.n_vocab())
    if bias:
        entries = (lc.llama_logit_bias * len(bias))()
        for i, (token, value) in enumerate(bias.items()):
            entries[i].token = token
            entries[i].bias = value
        add(lc.llama_sampler_init_logit_bias(n_vocab, len(bias), entries))
    # llama.cpp's penalties sampler, but looking up only the recent tokens (engine.penalties).
    penalty = RecentPenalty(llm.last_n_tokens_size, params.repeat_penalty)
    keep.append(penalty)
    add(penalty.sampler)
    if grammar is not None:
        add(
            lc.llama_sampler_init_grammar(
                llm._model.vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8")
            )
        )
    temp = params.temperature
    if temp < 0.0:
        add(lc.llama_sampler_init_dist(llm._seed))
    elif temp == 0.0:
        add(lc.llama_sampler_init_greedy())
    else:
        add(lc.llama_sampler_init_top_k(params.top_k))
        add(lc.llama_sampler_init_typical(1.0, 1))
        add(lc.llama_sampler_init_top_p(params.top_p, 1))
        add(lc.llama_sampler_init_min_p(params.min_p, 1))
        add(lc.llama_sampler_init_temp(temp))
        add(lc.llama_sampler_init_dist(llm._seed))
    return chain


def _uncached_suffix(llm: Any, tokens: list[int]) -> list[int]:
    """The prompt tokens still to evaluate, reusing the KV cache's matching prefix.

    ``Llama.generate``'s rule, step for step (and its state changes on ``llm``).
    """
    reset = True
    if llm.n_tokens > 0:
        from app.engine.kv_state import common_prefix

        longest_prefix = common_prefix(llm._input_ids, tokens)  # NumPy's, not a Python loop
        prompt_consumed = longest_prefix == len(tokens)
        if llm.n_tokens == len(tokens) and prompt_consumed and not llm._requires_eval:
            return []  # the logits of the last prompt token are still there
        # With no suffix left, one token is evaluated again to refresh the logits.
        reuse_prefix = longest_prefix - 1 if prompt_consumed else longest_prefix
        if reuse_prefix > 0 and llm._ctx.kv_cache_seq_rm(-1, reuse_prefix, -1):
            reset = False
            tokens = tokens[reuse_prefix:]
            llm.n_tokens = reuse_prefix
            llm._requires_eval = True
    if reset:
        llm.reset()
    return tokens


def _unfinished_character(text: bytearray, multibyte_fix: int) -> int:
    """``create_completion``'s count of tokens to wait for after ``text`` grew: its rule
    as it stands (it reads the last three bytes, even of a shorter text, as if three)."""
    for i, char in enumerate(text[-3:]):
        k = 3 - i
        for num, pattern in ((2, 192), (3, 224), (4, 240)):
            if num > k and pattern & char == pattern:
                multibyte_fix = num - k
    return multibyte_fix


def _find_stop(text: bytearray, stops: list[bytes], start: int) -> int | None:
    """Where the earliest stop sequence in ``text[start:]`` begins, or None."""
    found = [i for i in (text.find(s, start) for s in stops) if i >= 0]
    return min(found) if found else None


def _held_back(text: bytearray, stops: list[bytes]) -> int:
    """How many bytes at the end of ``text`` may be the start of a stop sequence."""
    held = 0
    for s in stops:
        for i in range(min(len(s), len(text)), held, -1):
            if text.endswith(s[:i]):
                held = i
                break
    return held


# Control tokens that mark a reasoning model's thinking (gpt-oss's harmony channels,
# Magistral's [THINK]): written out, unlike other control tokens, so the thinking can be
# told from the answer (app.core.reasoning). Harmony's <|end|> stays unwritten: it is a
# turn marker (a stop string) and the next <|start|> ends the thinking anyway.
REASONING_CONTROL = frozenset(
    {b"<|channel|>", b"<|message|>", b"<|start|>", b"[THINK]", b"[/THINK]"}
)


class _Pieces:
    """Each token's bytes (``Llama.detokenize`` of one token), looked up once."""

    def __init__(self, lc: Any, vocab: Any) -> None:
        self._lc = lc
        self._vocab = vocab
        self._buffer = ctypes.create_string_buffer(_PIECE_BYTES)
        self._known: dict[int, bytes] = {}

    def get(self, token: int) -> bytes:
        piece = self._known.get(token)
        if piece is None:
            n = self._lc.llama_token_to_piece(
                self._vocab, token, self._buffer, _PIECE_BYTES, 0, False
            )
            if n < 0:  # longer than the buffer: llama.cpp says how long
                buffer = ctypes.create_string_buffer(-n)
                n = self._lc.llama_token_to_piece(self._vocab, token, buffer, -n, 0, False)
                piece = buffer.raw[:n]
            else:
                piece = self._buffer.raw[:n]
            if not piece:  # a control token: written only if it marks thinking
                piece = self._control(token)
            self._known[token] = piece
        return piece

    def _control(self, token: int) -> bytes:
        n = self._lc.llama_token_to_piece(self._vocab, token, self._buffer, _PIECE_BYTES, 0, True)
        text = self._buffer.raw[: max(n, 0)]
        return text if text in REASONING_CONTROL else b""
