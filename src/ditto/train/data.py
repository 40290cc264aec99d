"""The training data: sft.jsonl conversations, tokenized so that only the assistant learns.

The paper computes the loss on the character's replies alone: never on the system prompt,
the user's turns or the role headers. TRL's own `assistant_only_loss` needs
`{% generation %}` markers that the chat templates of SmolLM2, Qwen2.5 and Llama-3 do not
have, so the mask is built here from the model's own template, for any template:

1. render the conversation up to each assistant turn (with the generation prompt), and up
   to the end of that turn; the text between is the reply and its end-of-turn token;
2. tokenize the pieces one by one, so that the prompt tokens are exactly those the model
   sees at inference (which tokenizes the prompt alone), and mark the reply pieces.

A template that renders an earlier turn differently once later turns follow (one that
drops past reasoning, say) cannot be split this way; that is a clear error, not a silent
mis-mask.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ditto.chat_files import iter_jsonl, parse_messages
from ditto.errors import DittoError
from ditto.models.huggingface import (
    END_OF_TURN_TOKENS,
    end_of_turn_ids,
    merge_system_into_first_user,
)
from ditto.types import Message

IGNORE = -100
"""Label of a token that carries no loss (PyTorch's cross-entropy ignore index)."""

# Tokens that pad well: present in common vocabularies and never the end of a turn.
PAD_CANDIDATES = (
    "<|finetune_right_pad_id|>",
    "<|endoftext|>",
    "<pad>",
    "<|pad|>",
    "[PAD]",
    "<unk>",
)
ADDED_PAD = "<|pad|>"


def read_sft(path: str | Path) -> list[list[Message]]:
    """Every conversation of an sft.jsonl file; a bad line is an error naming file and line."""
    conversations = []
    for number, record in iter_jsonl(path):
        where = f"{path}:{number}"
        if "messages" not in record:
            raise DittoError(f"{where}: no 'messages' field")
        messages = parse_messages(record["messages"], where)
        if not any(m.role == "assistant" for m in messages):
            raise DittoError(f"{where}: no assistant message to learn from")
        conversations.append(messages)
    if not conversations:
        raise DittoError(f"{path}: no conversations")
    return conversations


def ensure_pad_token(tokenizer) -> bool:
    """Give the tokenizer a pad token that is not an end-of-turn token; True if one was added.

    Many chat tokenizers pad with their end-of-turn token (SmolLM2 pads with <|im_end|>).
    Any code that masks padding by token id would then also mask the real end of each
    reply, and the model would never learn to stop talking.
    """
    ends = end_of_turn_ids(tokenizer)
    if tokenizer.pad_token_id is not None and tokenizer.pad_token_id not in ends:
        return False
    vocab = tokenizer.get_vocab()
    for token in PAD_CANDIDATES:
        if token in vocab and vocab[token] not in ends:
            tokenizer.pad_token = token
            return False
    tokenizer.add_special_tokens({"pad_token": ADDED_PAD})
    return True


def render(tokenizer, messages: Sequence[Message], generation_prompt: bool) -> str:
    return tokenizer.apply_chat_template(
        [m.model_dump() for m in messages], tokenize=False, add_generation_prompt=generation_prompt
    )


def reply_end(answer: str, markers: Sequence[str]) -> int:
    """Where a rendered reply ends: just after its last end-of-turn marker (the newline
    that some templates put after it belongs to the next turn's prompt)."""
    ends = [answer.rfind(m) + len(m) for m in markers if m in answer]
    return max(ends) if ends else len(answer.rstrip())


def end_of_turn_markers(tokenizer) -> list[str]:
    vocab = tokenizer.get_vocab()  # tens of milliseconds: once per dataset, not per turn
    return [t for t in (*END_OF_TURN_TOKENS, tokenizer.eos_token) if t and t in vocab]


def split_for_loss(
    tokenizer, messages: Sequence[Message], markers: Sequence[str] | None = None
) -> list[tuple[str, bool]]:
    """The rendered conversation as consecutive (text, is_reply) pieces."""
    from jinja2.exceptions import TemplateError

    last_reply = max(i for i, m in enumerate(messages) if m.role == "assistant")
    messages = list(messages[: last_reply + 1])  # a trailing user turn teaches nothing
    try:
        full = render(tokenizer, messages, generation_prompt=False)
    except TemplateError:  # no system role in this template: fold it into the first user turn
        messages = merge_system_into_first_user(messages)
        full = render(tokenizer, messages, generation_prompt=False)
    markers = end_of_turn_markers(tokenizer) if markers is None else markers

    pieces: list[tuple[str, bool]] = []
    done = ""
    for index, message in enumerate(messages):
        if message.role != "assistant":
            continue
        prompt = render(tokenizer, messages[:index], generation_prompt=True)
        through = render(tokenizer, messages[: index + 1], generation_prompt=False)
        if not (prompt.startswith(done) and through.startswith(prompt)):
            raise DittoError(
                "the chat template renders earlier turns differently once later turns follow, "
                "so the assistant tokens cannot be marked; use a model whose template is "
                "prefix-stable"
            )
        answer = through[len(prompt) :]
        answer = answer[: reply_end(answer, markers)]
        pieces += [(prompt[len(done) :], False), (answer, True)]
        done = prompt + answer
    if not full.startswith(done):
        raise DittoError("the chat template renders the whole conversation unlike its parts")
    pieces.append((full[len(done) :], False))
    return [(text, is_reply) for text, is_reply in pieces if text]


def tokenize_conversation(
    tokenizer, messages: Sequence[Message], markers: Sequence[str] | None = None
) -> tuple[list[int], list[int]]:
    """(input_ids, labels): labels are the token ids on reply tokens and IGNORE elsewhere."""
    pieces = split_for_loss(tokenizer, messages, markers)
    encoded = tokenizer([text for text, _ in pieces], add_special_tokens=False)["input_ids"]
    input_ids: list[int] = []
    labels: list[int] = []
    for ids, (_, is_reply) in zip(encoded, pieces):
        input_ids += ids
        labels += ids if is_reply else [IGNORE] * len(ids)
    return input_ids, labels


@dataclass(frozen=True)
class DataStats:
    conversations: int
    kept: int
    tokens: int
    loss_tokens: int
    truncated: int


def build_dataset(tokenizer, conversations: Sequence[Sequence[Message]], max_length: int):
    """A `datasets.Dataset` of input_ids and labels, ready for TRL's SFTTrainer (which
    takes pre-tokenized rows as they are); conversations whose replies all fall beyond
    `max_length` are dropped."""
    from datasets import Dataset

    rows: dict[str, list] = {"input_ids": [], "labels": []}
    truncated = tokens = loss_tokens = 0
    markers = end_of_turn_markers(tokenizer)
    for messages in conversations:
        ids, labels = tokenize_conversation(tokenizer, messages, markers)
        if len(ids) > max_length:
            truncated += 1
            ids, labels = ids[:max_length], labels[:max_length]
        if all(label == IGNORE for label in labels):
            continue
        rows["input_ids"].append(ids)
        rows["labels"].append(labels)
        tokens += len(ids)
        loss_tokens += sum(label != IGNORE for label in labels)
    if not rows["input_ids"]:
        raise DittoError(f"no conversation has an assistant reply within --max-length {max_length}")
    stats = DataStats(len(conversations), len(rows["input_ids"]), tokens, loss_tokens, truncated)
    return Dataset.from_dict(rows), stats
