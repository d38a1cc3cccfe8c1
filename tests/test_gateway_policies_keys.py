"""KeyConfig validation and secrecy; balancing strategies and how they spread ties."""

from __future__ import annotations

import threading
from collections import Counter
from typing import List

import pytest

from omnillm.errors import ConfigurationError, OmniLLMError
from omnillm.gateway import (
    Candidate,
    KeyConfig,
    LatencyTracker,
    LeastInFlight,
    LowestCost,
    LowestLatency,
    WeightedRoundRobin,
    strategy_named,
)

SECRET = "sk-test-0123456789abcdefSECRET"


# --------------------------------------------------------------------------- KeyConfig


def test_repr_and_str_show_the_label_never_the_secret() -> None:
    key = KeyConfig("openai", SECRET, label="prod-1", rpm=100)
    assert "prod-1" in repr(key)
    assert SECRET not in repr(key)
    assert SECRET not in str(key)
    assert SECRET not in repr([key])


def test_default_label_is_a_digest_not_part_of_the_secret() -> None:
    key = KeyConfig("anthropic", SECRET)
    assert key.label.startswith("anthropic:")
    digest = key.label.split(":", 1)[1]
    assert len(digest) == 8
    assert digest not in SECRET
    assert KeyConfig("anthropic", SECRET).label == key.label
    assert KeyConfig("anthropic", SECRET + "x").label != key.label


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weight": 0}, "weight"),
        ({"weight": -2}, "weight"),
        ({"weight": 1.5}, "weight"),
        ({"weight": True}, "weight"),
        ({"rpm": -1}, "rpm"),
        ({"rpm": 0}, "rpm"),
        ({"tpm": -100}, "tpm"),
        ({"max_concurrent": 0}, "max_concurrent"),
        ({"rpm": 2.5}, "rpm"),
        ({"models": []}, "models"),
        ({"models": "gpt-4o"}, "models"),
        ({"models": {"gpt-4o": ""}}, "model names"),
    ],
)
def test_invalid_configuration_is_a_clear_error(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        KeyConfig("openai", SECRET, label="k", **kwargs)
    assert message in str(info.value)
    assert "'k'" in str(info.value)
    assert SECRET not in str(info.value)
    assert isinstance(info.value, OmniLLMError)


def test_empty_provider_or_secret_is_rejected_without_echoing_the_secret() -> None:
    with pytest.raises(ConfigurationError):
        KeyConfig("", SECRET)
    with pytest.raises(ConfigurationError, match="secret is empty"):
        KeyConfig("openai", "  ")


def test_models_as_list_or_mapping() -> None:
    anything = KeyConfig("openai", SECRET, label="a")
    assert anything.serves("whatever") and anything.provider_model("whatever") == "whatever"
    listed = KeyConfig("openai", SECRET, label="b", models=["gpt-4o", "gpt-5"])
    assert listed.serves("gpt-5") and not listed.serves("o3")
    assert listed.provider_model("gpt-5") == "gpt-5"
    mapped = KeyConfig("azure", SECRET, label="c", models={"gpt-4o": "my-deployment"})
    assert mapped.serves("gpt-4o") and not mapped.serves("my-deployment")
    assert mapped.provider_model("gpt-4o") == "my-deployment"


def test_models_mapping_is_frozen_and_independent_of_the_input() -> None:
    source = {"gpt-4o": "dep"}
    key = KeyConfig("azure", SECRET, label="c", models=source)
    source["gpt-5"] = "dep2"
    assert not key.serves("gpt-5")
    with pytest.raises(TypeError):
        key.models["x"] = "y"  # type: ignore[index]


def test_keys_are_hashable_and_compare_by_value() -> None:
    a = KeyConfig("openai", SECRET, label="a", models=["m"])
    b = KeyConfig("openai", SECRET, label="a", models=["m"])
    assert a == b and hash(a) == hash(b)
    assert len({a, b}) == 1


# --------------------------------------------------------------------------- strategies


def keys(n: int, weights: List[int] | None = None) -> List[KeyConfig]:
    weights = weights or [1] * n
    return [KeyConfig("openai", f"sk-{i}", label=f"k{i}", weight=w) for i, w in enumerate(weights)]


def picks(strategy, candidates: List[Candidate], n: int) -> Counter:  # type: ignore[no-untyped-def]
    return Counter(strategy.order(candidates)[0].label for _ in range(n))


@pytest.mark.parametrize("name", ["weighted_round_robin", "least_in_flight", "lowest_latency", "lowest_cost"])
def test_three_equal_keys_share_3000_picks_evenly(name: str) -> None:
    candidates = [Candidate(k, in_flight=2, latency_s=0.5, cost_micros=100) for k in keys(3)]
    counts = picks(strategy_named(name), candidates, 3000)
    assert sorted(counts) == ["k0", "k1", "k2"]
    for label in counts:
        assert 950 <= counts[label] <= 1050, counts


def test_smooth_weighted_round_robin_gives_exact_proportions_interleaved() -> None:
    candidates = [Candidate(k) for k in keys(3, [5, 1, 1])]
    strategy = WeightedRoundRobin()
    sequence = [strategy.order(candidates)[0].label for _ in range(7)]
    assert Counter(sequence) == {"k0": 5, "k1": 1, "k2": 1}
    # Smooth: the heavy key never runs 5 times in a row.
    assert sequence != ["k0"] * 5 + ["k1", "k2"]
    assert "k0k0k0k0k0" not in "".join(sequence * 2)
    counts = picks(strategy, candidates, 7000)
    assert counts == {"k0": 5000, "k1": 1000, "k2": 1000}


def test_weighted_round_robin_orders_every_candidate_for_failover() -> None:
    candidates = [Candidate(k) for k in keys(3, [3, 2, 1])]
    order = WeightedRoundRobin().order(candidates)
    assert sorted(c.label for c in order) == ["k0", "k1", "k2"]


def test_weighted_round_robin_with_a_changing_eligible_set() -> None:
    all_keys = keys(3, [1, 1, 1])
    strategy = WeightedRoundRobin()
    both = [Candidate(all_keys[0]), Candidate(all_keys[1])]
    counts = picks(strategy, both, 1000)
    assert counts == {"k0": 500, "k1": 500}
    counts = picks(strategy, [Candidate(k) for k in all_keys], 3000)
    assert all(990 <= v <= 1010 for v in counts.values()), counts


def test_least_in_flight_prefers_the_idle_key_and_rotates_ties() -> None:
    k = keys(3)
    candidates = [Candidate(k[0], in_flight=3), Candidate(k[1], in_flight=1), Candidate(k[2], in_flight=1)]
    strategy = LeastInFlight()
    order = strategy.order(candidates)
    assert order[-1].label == "k0"
    firsts = picks(strategy, candidates, 1000)
    assert firsts == {"k1": 500, "k2": 500}


def test_lowest_latency_measures_unknown_keys_first_then_picks_the_fastest() -> None:
    k = keys(3)
    strategy = LowestLatency()
    order = strategy.order([Candidate(k[0], latency_s=0.2), Candidate(k[1]), Candidate(k[2], latency_s=0.1)])
    assert [c.label for c in order] == ["k1", "k2", "k0"]


def test_lowest_latency_tolerance_shares_near_ties() -> None:
    k = keys(3)
    candidates = [Candidate(k[0], latency_s=0.100), Candidate(k[1], latency_s=0.104), Candidate(k[2], latency_s=0.9)]
    strict = picks(LowestLatency(tolerance_s=0, relative_tolerance=0, refresh_after=0), candidates, 100)
    assert strict == {"k0": 100}
    tolerant = picks(LowestLatency(tolerance_s=0.01, relative_tolerance=0, refresh_after=0), candidates, 100)
    assert tolerant == {"k0": 50, "k1": 50}
    by_default = picks(LowestLatency(refresh_after=0), candidates, 100)
    assert by_default == {"k0": 50, "k1": 50}, "4% apart is noise by default; 9x slower is not"
    relative = [Candidate(k[0], latency_s=1.0), Candidate(k[1], latency_s=1.15), Candidate(k[2], latency_s=1.3)]
    assert picks(LowestLatency(refresh_after=0), relative, 100) == {"k0": 50, "k1": 50}, "within 20% of the best"
    with pytest.raises(ConfigurationError):
        LowestLatency(tolerance_s=-1)
    with pytest.raises(ConfigurationError):
        LowestLatency(relative_tolerance=-0.1)
    with pytest.raises(ConfigurationError):
        LowestLatency(refresh_after=-1)


def test_lowest_latency_re_measures_a_key_left_out_for_long() -> None:
    k = keys(2)
    candidates = [Candidate(k[0], latency_s=0.1), Candidate(k[1], latency_s=0.9)]
    counts = picks(LowestLatency(refresh_after=50), candidates, 1000)
    assert counts == {"k0": 981, "k1": 19}, "the slow key goes first once in every 50 orderings (turns 50..950)"


def test_latency_spike_barely_moves_the_average_but_a_slowdown_does() -> None:
    tracker = LatencyTracker(alpha=0.3)
    tracker.observe("k", 0.01)
    tracker.observe("k", 0.01)
    assert tracker.observe("k", 1.0) == pytest.approx(0.016), "one 100x pause counts as 3x"
    for _ in range(12):
        value = tracker.observe("k", 1.0)
    assert value > 0.5, "a lasting slowdown is followed within a few calls"


def test_lowest_cost_puts_unknown_prices_last() -> None:
    k = keys(3)
    order = LowestCost().order(
        [Candidate(k[0], cost_micros=None), Candidate(k[1], cost_micros=900), Candidate(k[2], cost_micros=300)]
    )
    assert [c.label for c in order] == ["k2", "k1", "k0"]


def test_strategies_handle_empty_and_single() -> None:
    for name in ("weighted_round_robin", "least_in_flight", "lowest_latency", "lowest_cost"):
        strategy = strategy_named(name)
        assert strategy.order([]) == []
        only = [Candidate(keys(1)[0])]
        assert strategy.order(only) == only


def test_unknown_strategy_name() -> None:
    with pytest.raises(ConfigurationError, match="least_in_flight"):
        strategy_named("random")


def test_strategies_are_shared_safely_between_threads() -> None:
    candidates = [Candidate(k) for k in keys(4)]
    strategy = WeightedRoundRobin()
    counts: Counter = Counter()
    lock = threading.Lock()

    def worker() -> None:
        local = Counter(strategy.order(candidates)[0].label for _ in range(1000))
        with lock:
            counts.update(local)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counts == {"k0": 2000, "k1": 2000, "k2": 2000, "k3": 2000}


# --------------------------------------------------------------------------- latency tracker


def test_latency_ewma() -> None:
    tracker = LatencyTracker(alpha=0.5)
    assert tracker.get("k") is None
    assert tracker.observe("k", 9.0) == 9.0, "the first sample (connection set-up) is provisional"
    assert tracker.get("k") == 9.0 and tracker.measured("k") is None
    assert tracker.observe("k", 1.0) == 1.0, "... and the second replaces it"
    assert tracker.measured("k") == 1.0
    assert tracker.observe("k", 3.0) == 2.0
    assert tracker.observe("k", 2.0) == 2.0
    tracker.forget("k")
    assert tracker.get("k") is None and tracker.measured("k") is None


def test_latency_tracker_rejects_bad_input() -> None:
    with pytest.raises(ConfigurationError):
        LatencyTracker(alpha=0)
    with pytest.raises(ConfigurationError):
        LatencyTracker().observe("k", -1.0)
    with pytest.raises(ConfigurationError):
        LatencyTracker().observe("k", float("nan"))
