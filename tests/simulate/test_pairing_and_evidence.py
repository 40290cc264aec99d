from ditto.characters import Profile, read_profiles
from ditto.simulate.evidence import find_evidence
from ditto.simulate.pairing import birth_year, pick_partners, profile_key


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
