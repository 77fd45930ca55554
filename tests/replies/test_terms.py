"""Forbidden-term matching: groups, inflections, exceptions, "-free" forms and negation."""

from personalab.replies.terms import find, groups, inflections, resolve


def named(text: str, *names: str) -> list[tuple[str, bool]]:
    """(matched words, negated) for each occurrence, in order."""
    return [(m.text.lower(), m.negated) for m in find(text, names)]


def test_a_group_matches_its_members_and_their_plurals():
    """The group meat covers chicken and beef, in the plural and capitalised too."""
    assert [w for w, _ in named("Chickens, then BEEF.", "meat")] == ["chickens", "beef"]


def test_an_exception_is_not_a_match():
    """A chickpea is not chicken; peanut butter is no dairy butter."""
    assert named("Roast chickpeas.", "meat") == []
    assert named("Peanut butter toast.", "dairy") == []


def test_free_and_plant_forms_are_allowed():
    """Gluten-free bread, dairy-free cheese, vegan sausage: none breaks the rule it names."""
    assert named("Gluten-free bread.", "gluten") == []
    assert named("A dairy-free cheese and vegan sausage.", "dairy", "meat") == []


def test_a_negated_mention_is_marked_negated():
    """A stew with no meat names meat only to rule it out."""
    assert named("A stew with no meat at all.", "meat") == [("meat", True)]
    assert named("Don't forget the bacon.", "meat") == [("bacon", False)]


def test_a_plain_word_is_its_own_group():
    """A word that is no group is matched as itself."""
    (group,) = resolve(["durian"])
    assert group.forms == ("durian",) and named("Durians are great.", "durian")


def test_included_groups_are_merged():
    """A group that includes others matches their terms too."""
    merged = groups()["meat"]
    assert set(groups()["poultry"].forms) <= set(merged.forms)


def test_inflections_cover_plural_and_verb_forms_of_the_last_word():
    """berry -> berries; bake -> baked, baking; only the last word of a phrase changes."""
    assert {"berries", "berry's"} <= inflections("berry")
    assert {"baked", "baking"} <= inflections("bake")
    assert "ice creams" in inflections("ice cream") and "ices cream" not in inflections("ice cream")
