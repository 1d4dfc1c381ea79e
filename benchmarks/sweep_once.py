"""One sweep, measured: `python -m benchmarks.sweep_once OUTPUT.json`.

The sweep function's handler runs in this fresh process against the emulator named by
the standard AWS settings, with the findings table and topic the parent set up. Its logs
and metrics go to stdout, as in Lambda; the measurement goes to OUTPUT.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from benchmarks.lambda_process import measure, peak_rss_bytes
from benchmarks.meter import CallMeter
from rolewarden.demo.event import DemoLambdaContext
from rolewarden.handlers import sweep
from rolewarden.triggers.wiring import this_container

SCHEDULE_EVENT = json.loads(
    (Path(__file__).resolve().parents[1] / "events/schedule-sweep.json").read_text()
)


def main() -> None:
    meter = CallMeter().attach(this_container().session)
    result, cost = measure(meter, lambda: sweep.handler(SCHEDULE_EVENT, DemoLambdaContext()))
    cost |= {
        "peak_rss_bytes": peak_rss_bytes(),
        "findings": result["findings"],
        "findings_by_rule": result["findings_by_rule"],
        "new_findings": len(result["new_findings"]),
        "scan_errors": result["scan_errors"],
    }
    Path(sys.argv[1]).write_text(json.dumps(cost))


if __name__ == "__main__":
    main()
