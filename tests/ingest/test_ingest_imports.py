"""Ingest never imports pandas: each spawned staging worker imports the engine, and pandas alone cost about
a second of CPU per process (through pyarrow's `Schema.empty_table()`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

SCRIPT = """
import sys
from pathlib import Path
from pipeline.home import ReverieHome
from pipeline.ingest.engine import ingest
home = ReverieHome.at(Path(sys.argv[1])).ensure()
ingest(home, [Path(sys.argv[2]), Path(sys.argv[3])], workers=1)
print("pandas" in sys.modules)
"""


def test_ingest_and_its_partitions_do_not_import_pandas(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            SCRIPT,
            str(tmp_path / "home"),
            str(FIXTURES / "claude-code"),
            str(FIXTURES / "broken"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip().splitlines()[-1] == "False", result.stdout + result.stderr
