"""`ditto chat`: talk to a model in character, in the terminal, with the reply streamed.

The system prompt is the one the model was trained with, "You are {name}, {description}."
(`role_system_prompt`), so what you see is what evaluation sees. Every turn goes through
`complete_stream`, the streaming door beside `complete`: a local model's reply appears token
by token (a server's, given with --base-url, when it is done), and the turn is committed to
the run store in --run like any other model call. So a conversation asked again with the
same settings is answered from the store, and a reply cut off by Ctrl-C is not stored.
"""

from __future__ import annotations

import sys
from contextlib import closing
from pathlib import Path

import typer
from rich.console import Console

from ditto.characters import Profile, find_profiles, read_profiles
from ditto.cli import options
from ditto.types import Message

QUIT = {"/quit", "/exit"}
RESET = "/reset"


def pick_profile(profiles: list[Profile], key: str, lang: str | None) -> Profile:
    """The character's profile in `lang`; without one, the profile whose own name or alias
    was typed (李白 picks the Chinese profile, Li Bai the English one), else the first."""
    found = find_profiles(profiles, key, lang)
    wanted = key.strip().casefold()
    named = [p for p in found if wanted in {p.name.casefold(), *(a.casefold() for a in p.aliases)}]
    return (named or found)[0]


def chat_command(
    model: str = options.MODEL,
    base_url: str = options.BASE_URL,
    character: str = typer.Option(
        ..., "--character", "-c", help="Name, alias or id of the character to play."
    ),
    characters: Path = typer.Option(
        "builtin",
        "--characters",
        help="Profiles file (JSON lines) or 'builtin' for the shipped pool.",
    ),
    lang: str = typer.Option(
        None,
        "--lang",
        help="Language of the character's profile (en, zh, ...) when it has several.",
    ),
    run: Path = typer.Option(
        "runs/chat", "--run", help="Run directory whose request store records every turn."
    ),
    max_tokens: int = typer.Option(512, "--max-tokens", min=1, help="Most new tokens per reply."),
    temperature: float = options.TEMPERATURE,
    top_p: float = options.TOP_P,
    repetition_penalty: float = options.REPETITION_PENALTY,
    seed: int = options.SEED,
) -> None:
    """Chat with a model in character; Ctrl-D or /quit ends, /reset starts over."""
    from ditto.models import load_model
    from ditto.models.calls import complete_stream
    from ditto.prompts.role import role_system_prompt
    from ditto.store import RunStore

    profile = pick_profile(read_profiles(str(characters)), character, lang)
    params = options.sampling_params(max_tokens, temperature, top_p, 1, seed, repetition_penalty)
    console = Console(stderr=True)
    chat_model = load_model(model, base_url)
    system = Message(role="system", content=role_system_prompt(profile))
    with RunStore(run) as store:
        try:
            load = getattr(chat_model, "load", None)
            if callable(load):  # a local model's weights load before the first question
                load()
            console.print(f"{profile.name} ({model}). Ctrl-D or /quit ends, /reset starts over.")
            messages = [system]
            interactive = sys.stdin.isatty()
            while True:
                if interactive:
                    console.print("[bold]you>[/bold] ", end="")
                line = sys.stdin.readline()
                if not line or line.strip() in QUIT:
                    break
                if not line.strip():
                    continue
                if line.strip() == RESET:
                    messages = [system]
                    continue
                messages.append(Message(role="user", content=line.strip()))
                sys.stdout.write(f"{profile.name}> ")
                pieces = []
                with closing(complete_stream(chat_model, store, messages, params)) as reply:
                    for piece in reply:
                        sys.stdout.write(piece)
                        sys.stdout.flush()
                        pieces.append(piece)
                sys.stdout.write("\n")
                sys.stdout.flush()
                messages.append(Message(role="assistant", content="".join(pieces)))
        except KeyboardInterrupt:  # Ctrl-C: the reply in progress is cut off, not stored
            sys.stdout.write("\n")
        finally:
            chat_model.close()
