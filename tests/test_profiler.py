"""tc.profile: per-op forward/backward times and calls, a table, and op boxes coloured by time."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import tinygrad_conv as tc


def _step():
    w = tc.Tensor(np.ones((2, 1, 3, 3)), requires_grad=True)
    x = tc.Tensor(np.random.default_rng(0).standard_normal((4, 1, 6, 6)))
    loss = tc.conv2d(x, w).relu().sum_of_squares()
    loss.backward(retain_graph=True)
    return loss


def test_profile_counts_forward_and_backward_calls_per_op():
    with tc.profile() as prof:
        _step()
        _step()
    stats = {s.name: s for s in prof.key_averages()}
    assert set(stats) == {"conv2d", "relu", "sum_of_squares"}
    for s in stats.values():
        assert s.forward_calls == 2 and s.backward_calls == 2
        assert s.forward_seconds > 0 and s.total_seconds == s.forward_seconds + s.backward_seconds
    assert 0 < prof.op_seconds <= prof.wall_seconds


def test_table_is_sorted_and_names_every_op():
    with tc.profile() as prof:
        _step()
    table = prof.table()
    rows = [line.split()[0] for line in table.splitlines()[2:-2]]
    assert sorted(rows) == ["conv2d", "relu", "sum_of_squares"]
    totals = [s.total_seconds for s in prof.key_averages("total")]
    assert totals == sorted(totals, reverse=True)
    assert "ms in the block" in table and len(prof.table(row_limit=1).splitlines()) == 5
    with pytest.raises(ValueError, match="sort_by"):
        prof.key_averages("speed")


def test_nothing_is_recorded_outside_the_block_or_in_other_threads():
    with tc.profile() as prof:
        thread = threading.Thread(target=_step)
        thread.start()
        thread.join()
    _step()
    assert prof.stats == {}


def test_profiles_nest_and_the_outer_one_resumes():
    with tc.profile() as outer:
        _step()
        with tc.profile() as inner:
            _step()
        _step()
    assert outer.stats["relu"].forward_calls == 2 and inner.stats["relu"].forward_calls == 1


def test_draw_graph_colours_op_boxes_by_their_time():
    with tc.profile() as prof:
        loss = _step()
    source = tc.viz.dot_source(loss, profile=prof)
    assert source.count(" ms (") == 3  # one time line per op box
    assert tc.viz.labels.TIME_PALETTE[-1] in source  # the slowest op in the darkest shade
    assert "op: slowest" in tc.viz.dot_source(loss, profile=prof, legend=True)
    with pytest.raises(TypeError, match="tc.profile"):
        tc.viz.dot_source(loss, profile="fast")
