"""Chat templates in the style of each reasoning family, written for these tests from
the families' published templates (only the parts that matter here: the generation
prompt and what happens to an assistant message's thinking)."""

from __future__ import annotations

# Qwen3: the model opens the block itself; enable_thinking=false writes an empty block
# in the prompt; an assistant message's reasoning_content is written back as a block.
QWEN3_STYLE = (
    "{% for m in messages %}<|im_start|>{{ m.role }}\n"
    "{% if m.role == 'assistant' and m.reasoning_content is defined and m.reasoning_content %}"
    "<think>\n{{ m.reasoning_content }}\n</think>\n\n{% endif %}"
    "{{ m.content }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n"
    "{% if enable_thinking is defined and enable_thinking is false %}<think>\n\n</think>\n\n"
    "{% endif %}{% endif %}"
)
# DeepSeek-R1: the generation prompt opens the block; earlier thinking is cut from content.
R1_STYLE = (
    "{{ bos_token }}{% for m in messages %}"
    "{% if m.role == 'user' %}<｜User｜>{{ m.content }}"
    "{% elif m.role == 'assistant' %}<｜Assistant｜>{{ m.content.split('</think>')[-1] }}"
    "<｜end▁of▁sentence｜>{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<｜Assistant｜><think>\n{% endif %}"
)
# Qwen3's thinking-only releases and QwQ: ChatML whose generation prompt opens the block.
CHATML_OPENS_THINK = (
    "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n<think>\n{% endif %}"
)
# Magistral: [THINK]…[/THINK] written by the model; the prompt opens nothing.
MAGISTRAL_STYLE = (
    "{{ bos_token }}{% for m in messages %}{% if m.role == 'user' %}[INST]{{ m.content }}[/INST]"
    "{% elif m.role == 'assistant' %}{{ m.content }}{{ eos_token }}{% endif %}{% endfor %}"
    "{# the model may answer after thinking in [THINK]...[/THINK] #}"
)
