"""Chat-model backends behind one interface (`ChatModel`), and `load_model` to pick one.

- `builtin`: the embedded SmolLM2-135M-Instruct GGUF, run with transformers on CPU;
- any Hugging Face id, local directory or .gguf file: transformers;
- any of those with `base_url`: an OpenAI-compatible server (vLLM, SGLang, llama.cpp, ...).
"""

from __future__ import annotations

from collections.abc import Sequence

from ditto.models.base import ChatModel
from ditto.models.calls import complete
from ditto.models.config import BackendConfig


def load_model(
    name: str, base_url: str | Sequence[str] | None = None, backend: BackendConfig | None = None
) -> ChatModel:
    """`base_url` may be one URL, a comma-separated list, or a sequence: several endpoints
    share the work (least busy first). Nothing is loaded or sent until the first request."""
    backend = backend or BackendConfig()
    if base_url:
        from ditto.models.openai_backend import OpenAIChatModel, RetryPolicy

        urls = base_url.split(",") if isinstance(base_url, str) else list(base_url)
        return OpenAIChatModel(
            name,
            [u.strip() for u in urls if u.strip()],
            concurrency=backend.concurrency,
            timeout=backend.timeout,
            retry=RetryPolicy(max_retries=backend.max_retries),
            structured=backend.structured,
        )
    from ditto.models.transformers_backend import TransformersModel

    return TransformersModel(
        name, device=backend.device, batch_size=backend.batch_size, structured=backend.structured
    )


__all__ = ["BackendConfig", "ChatModel", "complete", "load_model"]
