"""`streamwatch stats` on ten thousand sessions of known outcomes (tests/fleet.py): every number exact.

The fleet is written and listed once for the module (the listing builds the session index from the
files); each test then counts what the generator knows it made and compares.
"""

import math
import os
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path

import pytest

from streamwatch.core.catalog import Catalog
from streamwatch.core.index import SessionIndex
from streamwatch.core.stats import (
    GROUPINGS,
    TERMINATIONS,
    StatsError,
    count,
    parse_since,
    percentile,
    render_stats,
    trend,
)
from streamwatch.core.stats import members as streams_behind
from tests import fleet

FLEET = 10_000


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A data folder in memory where there is a tmpfs: making ten thousand files on a busy disk takes
    longer than everything else here (the code is the same on any file system)."""
    memory = Path("/dev/shm")
    on_tmpfs = memory.is_dir() and os.access(memory, os.W_OK)
    home = Path(tempfile.mkdtemp(prefix="streamwatch-fleet-", dir=memory)) if on_tmpfs else tmp_path_factory.mktemp("fleet")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STREAMWATCH_HOME", str(home))
        yield home
    if on_tmpfs:
        shutil.rmtree(home)


@pytest.fixture(scope="module")
def made(home):
    return fleet.write_fleet(home / "sessions", FLEET)


@pytest.fixture(scope="module")
def summaries(home, made):
    return Catalog().summaries()


def nearest_rank(values, p):
    ordered = sorted(values)
    return ordered[math.ceil(p * len(ordered) / 100) - 1] if ordered else None


def expected(made, key):
    """What each group must say, counted from what the generator made."""
    groups = defaultdict(list)
    for session in made:
        if session.outcome is not None:
            groups[key(session)].append(session)
    out = {}
    for name, members in groups.items():
        n = len(members)
        stalls = [m.stall for m in members if m.stall is not None]
        complete = sum(m.outcome == "complete" for m in members)
        ends = {kind: sum(m.outcome == kind for m in members) for kind in TERMINATIONS}
        out[name] = {
            "group": name, "streams": n, "complete": complete, "complete_rate": complete / n,
            "terminations": ends, "termination_rates": {kind: ends[kind] / n for kind in TERMINATIONS},
            "stalled": len(stalls), "stall_rate": len(stalls) / n, "longest_stall": max(stalls, default=None),
            "ttfb_p50": nearest_rank([m.ttfb for m in members], 50),
            "ttfb_p95": nearest_rank([m.ttfb for m in members], 95),
            "ttft_p50": nearest_rank([m.ttft for m in members if m.ttft is not None], 50),
            "ttft_p95": nearest_rank([m.ttft for m in members if m.ttft is not None], 95),
            "output_tps_p50": nearest_rank([m.output_tps for m in members if m.output_tps is not None], 50),
            **{field: sum(getattr(m, field) for m in members) for field in (
                "retries", "resumes", "repaid_input_tokens", "repaid_output_tokens", "repaid_bytes")},
        }
    return out


def test_the_fleet_mixes_every_grouping_and_outcome(made):
    """So that the exact checks below check something in every column."""
    assert len(made) == FLEET
    for field, values in (("sdk", fleet.SDKS), ("model", fleet.MODELS), ("source", fleet.SOURCES),
                          ("client", fleet.CLIENTS), ("upstream", fleet.UPSTREAMS), ("day", fleet.DAYS)):
        assert len({getattr(m, field) for m in made}) == len(values)
    assert {m.outcome for m in made} == {*fleet.OUTCOMES, None}
    assert {m.stall for m in made} == {*fleet.STALLS, None}
    assert all(sum(getattr(m, field) for m in made) > 100 for field in (
        "retries", "resumes", "repaid_input_tokens", "repaid_output_tokens", "repaid_bytes"))


def test_every_session_file_is_listed(summaries, made):
    assert len(summaries) == FLEET + 2


@pytest.mark.parametrize("by", [None, *GROUPINGS])
def test_every_number_of_every_group_is_exactly_what_the_fleet_holds(summaries, made, by):
    stats = count(summaries, by)
    assert stats.unfinished == sum(m.outcome is None for m in made) > 0
    assert stats.unreadable == 2
    (total,) = expected(made, lambda m: None).values()
    assert stats.total.to_dict() == total
    if by is None:
        assert stats.groups == []
        return
    want = expected(made, lambda m: getattr(m, by))
    got = {group.key: group.to_dict() for group in stats.groups}
    assert got == want


def test_since_counts_the_sessions_started_from_that_day(summaries, made):
    stats = count(summaries, "day", parse_since("2026-11-23"))
    assert [g.key for g in stats.groups] == ["2026-11-23", "2026-11-24"]
    assert stats.total.streams == sum(m.outcome is not None and m.day >= "2026-11-23" for m in made)


def test_adding_one_session_reads_that_one_file_and_no_other(home, summaries, counted):
    read = counted
    (extra,) = fleet.write_fleet(home / "extra", 1, seed=99)
    added = home / "sessions" / "20261125-000000-live-extra.jsonl"
    (home / "extra" / extra.name).rename(added)
    listed = Catalog().summaries()
    assert read == [added.name] and len(listed) == FLEET + 3
    assert added.name in SessionIndex(home / "sessions").rows([added.name])
    added.unlink()
    read.clear()
    assert len(Catalog().summaries()) == FLEET + 2 and read == []


def test_percentiles_are_nearest_rank():
    assert percentile([], 50) is None
    assert percentile([3.0], 95) == 3.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.0
    assert percentile([float(n) for n in range(1, 21)], 95) == 19.0
    assert percentile([float(n) for n in range(1, 101)], 95) == 95.0


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01", "", "2026-11-22T25:00"])
def test_a_date_that_is_not_one_is_refused_in_one_line(text):
    with pytest.raises(StatsError, match="is not a date") as caught:
        parse_since(text)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("column", ["complete", "eof", "stalled", None])
def test_the_sessions_behind_a_cell_are_exactly_those_it_counted(summaries, made, column):
    """`enter` on a cell of the stats screen lists these: for model X's EOF cell, X's streams that ended in eof."""
    model = made[0].model

    def counted(session):
        if column is None:
            return True
        if column == "stalled":
            return session.stall is not None
        return session.outcome == column

    want = {s.name for s in made if s.outcome is not None and s.model == model and counted(s)}
    got = {summary.path.name for summary in streams_behind(summaries, "model", model, column)}
    assert got == want and want
    everything = {summary.path.name for summary in streams_behind(summaries, "model", None, column, everything=True)}
    assert everything == {s.name for s in made if s.outcome is not None and counted(s)}


def test_the_trend_is_each_day_s_share_of_streams_that_did_not_complete(summaries, made):
    days, rates = trend(summaries, "model", days=3)
    every_day = sorted({s.day for s in made if s.outcome is not None})
    assert days == every_day[-3:]
    for name in {s.model for s in made} | {None}:
        for day, rate in zip(days, rates[name], strict=True):
            streams = [s for s in made if s.outcome is not None and s.day == day and name in (None, s.model)]
            failed = sum(s.outcome != "complete" for s in streams)
            assert rate == (failed / len(streams) if streams else None)


def test_a_stream_the_proxy_broke_on_purpose_is_kept_apart_from_the_real_ones(summaries, made):
    """A chaos run (`proxy --fault`) must not raise the truncation rate a team watches."""
    import dataclasses

    first = next(summary for summary in summaries if summary.facts is not None and summary.facts.ended)
    injected = [dataclasses.replace(s, fault="injected: cut after 30 events") if s is first else s for s in summaries]
    before, after = count(summaries), count(injected)
    assert after.injected == 1 and after.total.streams == before.total.streams - 1
    assert after.to_dict()["injected"] == 1
    assert "not counted: " in render_stats(after) and "1 injected by the proxy's --fault" in render_stats(after)


def test_what_a_proxy_records_besides_streams_is_not_counted_as_one(summaries):
    """A model list, a token count or an answer asked for whole, forwarded by the proxy, is no stream."""
    import dataclasses

    first = next(summary for summary in summaries if summary.facts is not None and summary.facts.ended)
    listed = dataclasses.replace(first, facts=dataclasses.replace(first.facts, stream=False))
    before, after = count(summaries), count([listed if s is first else s for s in summaries])
    assert after.not_streams == 1 and after.total.streams == before.total.streams - 1
    assert "1 not streams (model lists, token counts, whole answers)" in render_stats(after)
