from ditto.characters import Profile, read_profiles
from ditto.simulate.evidence import find_evidence
from ditto.simulate.pairing import birth_year, is_far, pick_partners, profile_key


def test_partners_are_other_characters_of_the_same_language_and_seeded():
    pool = read_profiles("builtin")
    partners = pick_partners(pool, seed=1)
    assert set(partners) == {profile_key(p) for p in pool}
    for profile in pool:
        partner = partners[profile_key(profile)]
        assert partner.lang == profile.lang and partner.id != profile.id
    assert pick_partners(pool, seed=1) == partners
    assert pick_partners(pool, seed=2) != partners


def test_hard_contrast_draws_from_another_category_or_era():
    pool = read_profiles("builtin")
    for profile in pool:
        partner = pick_partners(pool, seed=3, contrast="hard")[profile_key(profile)]
        far_in_time = (
            None not in (birth_year(profile), birth_year(partner))
            and abs(birth_year(profile) - birth_year(partner)) >= 200
        )
        assert partner.category != profile.category or far_in_time


def test_birth_year_reads_english_chinese_and_bce_dates():
    def year(claim):
        return birth_year(Profile(id="x", name="x", lang="en", claims=[claim]))

    assert year("date of birth: 15 April 1452") == 1452
    assert year("date of birth: 551 BC") == -551
    assert year("出生日期：1867年11月7日") == 1867
    assert year("occupation: poet") is None


def test_evidence_is_the_facts_a_turn_mentions():
    profile = Profile(
        id="x", name="Marie Curie", lang="en",
        claims=["place of birth: Warsaw", "award received: Nobel Prize in Physics", "spouse: Pierre Curie"],
        summary="She studied radioactivity in Paris. She discovered polonium and radium with Pierre Curie.",
    )
    evidence = find_evidence(profile, "Where were you born?", "I was born in Warsaw, and later married Pierre Curie.")
    assert "place of birth: Warsaw" in evidence and "spouse: Pierre Curie" in evidence
    assert "award received: Nobel Prize in Physics" not in evidence
    assert find_evidence(profile, "Do you like football?", "I never played it.") == []


def test_chinese_profiles_get_chinese_prompts():
    from ditto.simulate.queries import query_prompt
    from ditto.simulate.sessions import response_system_prompt

    pool = {(p.id, p.lang): p for p in read_profiles("builtin")}
    li_bai, holmes = pool[("curated:li-bai", "zh")], pool[("curated:sherlock-holmes", "zh")]
    [query] = query_prompt(li_bai, holmes, 3, None)
    assert query.content.startswith("下面是两个人物。") and "李白" in query.content and "JSON" in query.content
    assert "姓名：李白" in query.content and "姓名：夏洛克·福尔摩斯" in query.content
    system = response_system_prompt(li_bai, None)
    assert system.startswith("你是李白。") and "用中文回答" in system
    english = response_system_prompt(pool[("curated:li-bai", "en")], None)
    assert english.startswith("You are Li Bai.") and "answer in English" in english


def test_prompts_dir_overrides_a_template(tmp_path):
    from ditto.simulate.sessions import response_system_prompt

    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "response_simulation.j2").write_text("{# version: 7 #}\nPlay {{ profile.name }}.")
    profile = next(p for p in read_profiles("builtin") if p.lang == "en")
    assert response_system_prompt(profile, tmp_path) == f"Play {profile.name}."


def reference_partners(profiles, seed, contrast="random"):
    """The definition `pick_partners` must keep: in each language, in key order, one
    `rng.choice` over every other character of the language (or its far ones, 'hard')."""
    import random

    partners = {}
    for lang in sorted({p.lang for p in profiles}):
        pool = sorted((p for p in profiles if p.lang == lang), key=profile_key)
        rng = random.Random(f"{seed}:{lang}")
        for profile in pool:
            others = [p for p in pool if p.id != profile.id]
            if others:
                if contrast == "hard":
                    others = [p for p in others if is_far(profile, p)] or others
                partners[profile_key(profile)] = rng.choice(others)
    return partners


def test_partners_are_those_of_the_definition_for_every_seed_and_pool_shape():
    """The linear-time draw picks exactly the partners of the quadratic definition, so runs
    made before it keep their data: a larger pool, a profile repeated under its id, one- and
    two-character languages."""
    builtin = read_profiles("builtin")
    copies = [p.model_copy(update={"id": f"{p.id}~{k}", "name": f"{p.name} {k}"}) for k in range(1, 6) for p in builtin]
    pools = [builtin, builtin + copies, builtin + [builtin[3].model_copy(update={"name": "again"})],
             builtin[:1], builtin[:3]]
    for pool in pools:
        for seed in range(4):
            for contrast in ("random", "hard"):
                got = {k: (p.id, p.name) for k, p in pick_partners(pool, seed, contrast).items()}
                want = {k: (p.id, p.name) for k, p in reference_partners(pool, seed, contrast).items()}
                assert got == want, (len(pool), seed, contrast)
