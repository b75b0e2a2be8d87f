"""Speculative decoding with a draft model: a second, small ``Llama`` of the same family
guesses the next tokens greedily, and the token loop (``engine.decode``) verifies them
with the main model in one batch, as it verifies prompt lookup's drafts.

The draft model keeps its own KV cache in step with the conversation: before each
draft, the cells after the longest prefix it shares with the context leave its cache
(``llama_memory_seq_rm``, through ``Llama.eval``) and only the new tokens are decoded,
so a rejected tail costs nothing later and the next turn reuses the whole conversation.
Guessing stops at the first token the draft is not confident of (below ``p_min``,
llama.cpp's rule) and the draft length adapts to the acceptance, as prompt lookup's does.

A draft must read and write the main model's tokens: :func:`vocab_mismatch` applies
llama.cpp's ``common_speculative_are_compatible`` checks (vocabulary type, BOS/EOS,
size, token texts) to the draft's vocabulary, read alone before its weights load.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from app.core.errors import ConfigError, HearthError, ModelError
from app.core.i18n import translate

log = logging.getLogger(__name__)

# llama.cpp's common/speculative.cpp: the most the vocabulary sizes may differ by, and
# the first id whose text is compared (the ids before it are special tokens).
VOCAB_MAX_SIZE_DIFFERENCE = 128
VOCAB_CHECK_START_TOKEN_ID = 5
# llama.cpp's defaults (common.h, params.speculative): the longest draft, and the
# probability below which the draft model's guess ends the draft.
MAX_DRAFT = 16
P_MIN = 0.75
MAX_PAUSE = 32  # the most tokens a draft that keeps missing rests between guesses


def vocab_mismatch(target: Any, draft: Any) -> str | None:
    """What differs between two ``llama_vocab`` pointers that keeps ``draft`` from
    drafting for ``target`` (a clause), or None when they are compatible."""
    import llama_cpp as lc

    if lc.llama_vocab_type(target) != lc.llama_vocab_type(draft):
        return "it uses another kind of tokenizer"
    for name, add, token in (
        ("beginning", lc.llama_vocab_get_add_bos, lc.llama_vocab_bos),
        ("end", lc.llama_vocab_get_add_eos, lc.llama_vocab_eos),
    ):
        if add(target) != add(draft) or (add(target) and token(target) != token(draft)):
            return f"its {name}-of-text token differs"
    n_target, n_draft = lc.llama_vocab_n_tokens(target), lc.llama_vocab_n_tokens(draft)
    if abs(n_target - n_draft) > VOCAB_MAX_SIZE_DIFFERENCE:
        return f"its vocabulary has {n_draft} tokens, the model's {n_target}"
    get_text = lc.llama_vocab_get_text
    for i in range(VOCAB_CHECK_START_TOKEN_ID, min(n_target, n_draft)):
        if get_text(target, i) != get_text(draft, i):
            return f"its token {i} differs"
    return None


def check_vocab(llm: Any, path: str) -> None:
    """Raise :class:`ConfigError` (one sentence) unless the draft model at ``path`` has
    the vocabulary of the loaded ``llm``; only the draft's vocabulary is read."""
    import llama_cpp as lc

    name = Path(path).name
    params = lc.llama_model_default_params()
    params.vocab_only = True
    model = lc.llama_model_load_from_file(str(path).encode("utf-8"), params)
    if not model:
        raise ModelError(
            translate(
                "Errors",
                "The draft model {name} cannot be read; check the file or download it again.",
            ).format(name=name)
        )
    try:
        problem = vocab_mismatch(llm._model.vocab, lc.llama_model_get_vocab(model))
    finally:
        lc.llama_model_free(model)
    if problem is not None:
        raise ConfigError(
            translate(
                "Errors",
                "The draft model {name} cannot draft for this model because {problem}; "
                "choose a draft of the same model family, or use --draft lookup.",
            ).format(name=name, problem=problem)
        )


class DraftModel:
    """A loaded draft model and its KV cache, kept across replies (see the module)."""

    def __init__(
        self, llm: Any, *, target_vocab: int, max_draft: int = MAX_DRAFT, p_min: float = P_MIN
    ) -> None:
        import numpy as np

        self.llm = llm
        self.path = str(llm.model_path)
        self.max_draft = max_draft
        self.p_min = p_min
        self.length = min(4, max_draft)  # the next draft's length (adapts)
        # After a miss at length 1 the draft rests for ``pause`` tokens (doubling up to
        # MAX_PAUSE while it keeps missing), then catches up in one batch: a draft that
        # rarely guesses right costs little more than its batched reading of the reply.
        self.pause = 0
        self.resting = 0  # tokens left to rest
        self.drafted = 0  # tokens proposed since the model loaded
        self.accepted = 0
        self._target_vocab = target_vocab  # no draft token past the main model's vocabulary
        self._n_vocab = int(llm.n_vocab())
        self._exp = np.empty(self._n_vocab, dtype=np.float32)
        self._one: Any = None  # a one-token ctypes array, made at the first draft

    @classmethod
    def open(
        cls,
        target: Any,
        path: str,
        *,
        n_ctx: int,
        n_threads: int,
        n_threads_batch: int,
        n_gpu_layers: int = 0,
    ) -> DraftModel:
        """Check the draft at ``path`` against the loaded ``target`` and load it with a
        context of ``n_ctx`` (the main model's: it holds the same conversation).
        Raises a :class:`HearthError` sentence when it cannot draft."""
        import llama_cpp

        from app.engine.amx import avoid_amx_kernels
        from app.engine.speculative import drafting_supported

        avoid_amx_kernels()
        check_vocab(target, path)
        name = Path(path).name
        try:
            llm = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_gpu_layers=n_gpu_layers,
                n_threads=n_threads,
                n_threads_batch=n_threads_batch,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelError(
                translate(
                    "Errors",
                    "llama.cpp could not load the draft model {name}: {error}.",
                ).format(name=name, error=exc)
            ) from exc
        if not drafting_supported(llm):
            llm.close()
            raise ConfigError(
                translate(
                    "Errors",
                    "The draft model {name} keeps recurrent state that a rejected guess "
                    "cannot be removed from; choose an attention model as the draft.",
                ).format(name=name)
            )
        return cls(llm, target_vocab=int(target.n_vocab()))

    def drafter(self) -> ModelDrafter:
        """A drafter for one reply (the token loop gives it the prompt first): it guesses
        at once (a rest does not outlast its reply); its pause grows from where it was."""
        self.resting = 0
        return ModelDrafter(self)

    @property
    def acceptance(self) -> float:
        """The share of drafted tokens taken into replies since the model loaded."""
        return self.accepted / self.drafted if self.drafted else 0.0

    def record(self, drafted: int, accepted: int) -> None:
        self.drafted += drafted
        self.accepted += accepted
        if accepted:
            self.pause = 0
        elif self.length == 1:
            self.missed()
        if accepted == drafted:
            self.length = min(self.max_draft, self.length * 2)
        elif accepted == 0:
            self.length = max(1, self.length // 2)

    def missed(self) -> None:
        """A guess at length 1 was wrong or not confident: rest a while (see above)."""
        self.pause = min(max(1, self.pause * 2), MAX_PAUSE)
        self.resting = self.pause

    def propose(self, context: list[int], limit: int) -> list[int]:
        """Up to ``limit`` tokens the draft model expects after ``context``, greedily,
        while it is confident of them."""
        import llama_cpp as lc
        import numpy as np

        llm = self.llm
        n_ctx = int(llm.n_ctx())
        if limit <= 0 or not context or len(context) >= n_ctx:
            return []
        # The cache keeps the longest prefix it shares with the context; the context's
        # last token is always decoded again, for the logits the first guess needs.
        held = llm.input_ids[: llm.n_tokens]
        size = min(len(held), len(context) - 1)
        same = held[:size] == np.asarray(context[:size], dtype=held.dtype)
        common = size if bool(same.all()) else int(np.argmin(same))
        llm.n_tokens = common
        llm.eval(context[common:])  # drops the cells from ``common`` on, then decodes
        if self._one is None:
            self._one = (lc.llama_token * 1)()
        one, ctx, exp, vocab = self._one, llm.ctx, self._exp, llm._model.vocab
        guesses: list[int] = []
        limit = min(limit, n_ctx - llm.n_tokens)
        while True:
            logits = np.ctypeslib.as_array(lc.llama_get_logits_ith(ctx, -1), (self._n_vocab,))
            token = int(logits.argmax())
            np.exp(logits - logits[token], out=exp)
            if 1.0 / float(exp.sum()) < self.p_min or token >= self._target_vocab:
                break
            guesses.append(token)
            if len(guesses) >= limit or lc.llama_vocab_is_eog(vocab, token):
                break  # the last guess needs no logits: it is not decoded here
            one[0] = token
            code = lc.llama_decode(ctx, lc.llama_batch_get_one(one, 1))
            if code != 0:
                raise RuntimeError(f"llama_decode returned {code} in the draft model")
            llm.input_ids[llm.n_tokens] = token
            llm.n_tokens += 1
        return guesses

    def close(self) -> None:
        self.llm.close()


class ModelDrafter:
    """One reply's drafter (:class:`app.engine.speculative.Drafter`) on a shared
    :class:`DraftModel`; its counts are the reply's, the model's the totals."""

    def __init__(self, model: DraftModel) -> None:
        self.model = model
        self.context: list[int] = []
        self.drafted = 0
        self.accepted = 0
        # An image's placeholder ids (negative) are no tokens the draft model could
        # read: a reply about images is not drafted.
        self.blind = False

    def extend(self, tokens: list[int]) -> None:
        self.context.extend(tokens)
        if tokens and min(tokens) < 0:
            self.blind = True

    def draft(self, limit: int) -> list[int]:
        model = self.model
        if self.blind:
            return []
        if model.resting > 0:
            model.resting -= 1
            return []
        guesses = model.propose(self.context, min(limit, model.length))
        if not guesses and limit > 0:  # not even the first guess was confident
            if model.length == 1:
                model.missed()
            model.length = max(1, model.length // 2)
        return guesses

    def record(self, drafted: int, accepted: int) -> None:
        self.drafted += drafted
        self.accepted += accepted
        self.model.record(drafted, accepted)

    @property
    def acceptance(self) -> float:
        return self.accepted / self.drafted if self.drafted else 0.0


def open_draft(
    target: Any,
    path: str,
    *,
    n_ctx: int,
    n_threads: int,
    n_threads_batch: int,
    n_gpu_layers: int = 0,
) -> tuple[DraftModel | None, str | None]:
    """:meth:`DraftModel.open`, or None and the sentence why not (the main model stays
    loaded and answers without drafts)."""
    try:
        return (
            DraftModel.open(
                target,
                path,
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_threads_batch=n_threads_batch,
                n_gpu_layers=n_gpu_layers,
            ),
            None,
        )
    except HearthError as exc:
        log.warning("draft model refused: %s", exc)
        return None, translate(
            "Errors",
            "{error} Replies are not drafted.",
        ).format(error=str(exc))
