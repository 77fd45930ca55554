"""The default-model rule of `bench models`: the largest pack that keeps a demo responsive."""

from personalab.evaluation.bench_models import LIMITS, choose


def row(name: str, size: int, warm: float, decode: float, compare: float) -> dict:
    speed = {"warm_first_token_s": warm, "decode_tok_s": decode, "compare_s": compare}
    return {"pack": name, "bytes": size, "speed": speed}


def test_the_largest_responsive_pack_is_chosen():
    """Of the packs within every limit, the largest wins; a larger, slower one does not."""
    rows = [
        row("small", 100, 0.3, 100.0, 4.0),
        row("middle", 500, 0.6, 35.0, 9.0),
        row("large", 1000, 1.2, 18.0, 14.0),  # decodes below the limit
    ]
    assert choose(rows) == "middle"


def test_no_responsive_pack_means_no_default():
    """When no pack keeps within the limits, the rule names none."""
    slow = LIMITS["warm_first_token_s"] + 1
    assert choose([row("large", 1000, slow, 18.0, 30.0)]) == ""
