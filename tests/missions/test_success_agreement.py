"""Mission success is written twice, as the flight gate (`flight.success`, which evaluation, batches and the
benchmarks count) and as the outcome criteria the dream learns from (`outcomes/lunar.yaml`, SQL over the logged
session). They must agree on every flight, or the loop would learn one thing and be judged on another."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

from pipeline import lake
from pipeline.home import ReverieHome
from pipeline.ingest.engine import ingest
from pipeline.missions.lunar.batch import fly_batch
from pipeline.outcomes.scoring import score_partition
from pipeline.outcomes.spec import load_criteria

LUNAR_CRITERIA = Path(__file__).resolve().parents[2] / "outcomes" / "lunar.yaml"
DAY = date(2025, 5, 6)
MISSIONS = 60  # a naive crew: successes and most failure modes, each flown and logged for real


def test_flight_gate_and_outcome_criteria_agree_on_every_flown_mission(tmp_path: Path) -> None:
    home = ReverieHome.at(tmp_path / "home")
    batch = fly_batch(home, DAY, MISSIONS, workers=1)
    gate = {record.session_id: record.success for record in batch.results}
    modes = Counter(record.failure_mode for record in batch.results)
    # Agreement means something only if both verdicts and several ways to fail were flown.
    assert 0 < sum(gate.values()) < MISSIONS
    assert {"landed_off_pad", "crash_on_body"} <= set(modes), modes

    ingest(home, [home.landing / DAY.isoformat()], workers=1)
    score_partition(home, DAY, load_criteria([LUNAR_CRITERIA]))
    with lake.connect(home) as con:
        scored = dict(con.execute("SELECT session_id, success FROM session_outcomes").fetchall())

    assert scored == gate
