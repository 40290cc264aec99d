"""A fetched Wikipedia article reaches the simulation prompts only with --with-article, its
body after the introduction, within --article-tokens: the recorded article of "Python
(programming language)" served by the replay server, read by the same client `ditto
characters fetch` uses."""

from __future__ import annotations

import asyncio

from ditto.characters import Profile, wikipedia
from ditto.characters.client import WikiClient
from ditto.cost import estimate_tokens
from ditto.simulate.config import SimulateConfig
from ditto.simulate.profile_text import ProfileText
from ditto.simulate.queries import query_prompt
from ditto.simulate.sessions import response_system_prompt


async def fetch_article(api: str) -> str:
    async with WikiClient(None, base_delay=0.01) as client:
        return await wikipedia.article(client, api, "Python (programming language)")


def test_the_fetched_article_body_is_shown_within_its_budget(replay) -> None:
    with replay() as server:
        article = asyncio.run(fetch_article(wikipedia.api_url(server.wikipedia_api, "en")))
    introduction = article.split("\n== ", 1)[0]
    profile = Profile(id="Q28865", name="Python", lang="en", summary=introduction, article=article)
    other = Profile(id="Q2005", name="JavaScript", lang="en", summary="JavaScript is a language.")
    assert len(article) > 15_000  # as fetch stores it: up to wikipedia.ARTICLE_CHARS

    plain = response_system_prompt(profile, None)
    assert "== History ==" not in plain and introduction in plain

    text = ProfileText.from_config(SimulateConfig(with_article=True, article_tokens=500))
    system = response_system_prompt(profile, None, text)
    body = system.split("From the Wikipedia article:\n", 1)[1].split("\n\nStay in character", 1)[0]
    assert body.startswith("== History ==")
    assert system.count(introduction) == 1  # the introduction is not repeated from the article
    assert 400 < estimate_tokens(body) <= 500 and body.endswith(".") and article.find(body) > 0
    [query] = query_prompt(profile, other, 3, None, text)
    assert body in query.content
