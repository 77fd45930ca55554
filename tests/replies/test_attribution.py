"""Attribution of an answer's sentences to persona fields and facts, and the word diff."""

from personalab.replies.attribution import Source, attribute, word_diff

SOURCES = [
    Source("Constraints", "She is strictly vegan and eats no meat."),
    Source("fact", "I'm training for the Berlin Marathon."),
]


def test_a_sentence_restating_a_persona_field_is_traced_to_it(embedder):
    """A sentence that restates the vegan constraint is traced to the Constraints field."""
    found = attribute("Since you're vegan, skip the meat. The weather is nice.", SOURCES, embedder)
    assert found[0].source is not None and found[0].source.label == "Constraints"


def test_an_unrelated_sentence_is_traced_to_nothing(embedder):
    """A sentence that restates no source has no source."""
    found = attribute("Since you're vegan, skip the meat. The weather is nice.", SOURCES, embedder)
    assert found[1].source is None


def test_the_word_diff_marks_words_the_personalized_answer_added():
    """Words only in the second answer are marked as added."""
    assert ("added", "vegan") in word_diff("Eat pasta.", "Eat vegan pasta.")
