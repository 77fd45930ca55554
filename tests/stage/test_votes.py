"""Blind-vote tallies: win rates per persona, kind and model, with Wilson intervals."""

from personalab.stage.votes import Vote, wilson, win_rates


def test_the_wilson_interval_matches_the_textbook_value():
    """8 wins in 10 games give the 95 % Wilson interval 0.490-0.943."""
    low, high = wilson(8, 10)
    assert 0.49 < low < 0.5 and 0.94 < high < 0.95


def test_no_games_give_no_interval_claims():
    """With no games the interval is the whole range, not a division error."""
    assert wilson(0, 0) == (0.0, 1.0)


def test_win_rates_count_a_tie_as_a_game_but_no_win():
    """A tie is a game for both kinds shown and a win for neither."""
    votes = [Vote("p", "m", ("generic", "personalized"), "personalized")] * 3
    votes += [Vote("p", "m", ("generic", "personalized"), "tie")]
    rates = {r.kind: r for r in win_rates(votes)}
    assert rates["personalized"].wins == 3 and rates["personalized"].games == 4
    assert rates["generic"].wins == 0 and rates["generic"].games == 4
