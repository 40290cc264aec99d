"""Cutting a profile's Wikipedia text to a token budget (simulate/profile_text.py)."""

from __future__ import annotations

from ditto.characters import Profile
from ditto.cost import estimate_tokens
from ditto.simulate.profile_text import CUT_MARK, ProfileText, article_body, cut_to_budget


def words(text: str) -> int:
    return len(text.split())


def test_a_text_within_its_budget_is_kept_whole():
    text = "Ada wrote the first program. She worked with Babbage."
    assert cut_to_budget(text, 10, words) == text
    assert cut_to_budget(text, 0, words) == ""


def test_the_cut_falls_at_the_last_sentence_end_within_the_budget():
    text = "Ada wrote the first program. She worked with Babbage! Did she? Yes, in 1843."
    assert cut_to_budget(text, 9, words) == "Ada wrote the first program. She worked with Babbage!"
    assert cut_to_budget(text, 12, words) == "Ada wrote the first program. She worked with Babbage! Did she?"
    assert cut_to_budget(text, 5, words) == "Ada wrote the first program."


def test_chinese_sentences_end_without_a_space():
    text = "李白是唐代诗人。他一生漫游四方！他的诗流传至今。"
    assert cut_to_budget(text, 16, estimate_tokens) == "李白是唐代诗人。他一生漫游四方！"
    assert cut_to_budget(text, 15, estimate_tokens) == "李白是唐代诗人。"


def test_without_a_sentence_that_fits_the_cut_is_at_a_word_and_marked():
    text = "Augusta Ada King, Countess of Lovelace, was an English mathematician and writer."
    cut = cut_to_budget(text, 5, words)
    assert cut == "Augusta Ada King, Countess of" + CUT_MARK
    assert cut_to_budget(text, 5, estimate_tokens) == "Augusta Ada King," + CUT_MARK  # not mid-word
    chinese = cut_to_budget("李白是唐代诗人也是剑客", 5, estimate_tokens)
    assert chinese == "李白是唐" + CUT_MARK and estimate_tokens(chinese) <= 5


def test_a_long_article_is_cut_with_a_handful_of_counts():
    text = " ".join(f"Sentence {i} of a long article." for i in range(3000))
    calls = []

    def counting(part: str) -> int:
        calls.append(len(part))
        return estimate_tokens(part)

    cut = cut_to_budget(text, 1000, counting)
    assert estimate_tokens(cut) <= 1000 and cut.endswith(".") and text.startswith(cut)
    assert len(calls) <= 20  # bisection over the sentence ends, not one count per sentence


def test_the_article_body_starts_after_the_introduction():
    summary = "Ada was a mathematician."
    with_sections = Profile(id="a", name="Ada", lang="en", summary=summary,
                            article=f"{summary}\nShe was born in London.\n== Life ==\nShe married.")
    assert article_body(with_sections) == "== Life ==\nShe married."
    no_sections = with_sections.model_copy(update={"article": f"{summary}\nShe was born in London."})
    assert article_body(no_sections) == "She was born in London."
    stub = with_sections.model_copy(update={"article": summary})
    assert article_body(stub) == ""


def test_profile_text_shows_an_article_only_with_a_budget():
    profile = Profile(id="a", name="Ada", lang="en", summary="Ada was a mathematician.",
                      article="Ada was a mathematician.\n== Life ==\nShe married. She had children.")
    assert ProfileText(summary_tokens=100).article(profile) == ""
    assert ProfileText(summary_tokens=100, article_tokens=6).article(profile) == "== Life ==\nShe married."
    assert ProfileText(summary_tokens=3, count=words).summary(profile) == "Ada was a" + CUT_MARK


def test_without_claims_the_prompts_show_no_wikidata_fact_but_keep_the_introduction():
    from ditto.simulate.config import SimulateConfig
    from ditto.simulate.queries import query_prompt
    from ditto.simulate.sessions import response_system_prompt

    holmes = Profile(id="Q4653", name="Sherlock Holmes", lang="en", description="fictional detective",
                     claims=["occupation: private investigator"], summary="Sherlock Holmes lives at 221B Baker Street.")
    watson = Profile(id="Q187", name="John Watson", lang="en", claims=["occupation: physician"], summary="A doctor.")
    for with_claims in (True, False):
        text = ProfileText.from_config(SimulateConfig(with_claims=with_claims))
        prompts = [query_prompt(holmes, watson, 3, None, text)[0].content, response_system_prompt(holmes, None, text)]
        for prompt in prompts:
            assert ("private investigator" in prompt) is with_claims
            assert "221B Baker Street" in prompt
        assert ("physician" in prompts[0]) is with_claims
    assert holmes.claims == ["occupation: private investigator"], "the profile itself is left as it was"
