"""`make bench BENCH_ARGS=...`: a bad argument is refused before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.__main__ import main


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--sizes", "huge"], "huge: sizes are small, medium, large"),
        (["--sizes", ""], "nothing: sizes are"),
        (["--sweeps", "-1"], "--sweeps: -1: at least 0"),
        (["--import-runs", "0"], "--import-runs: 0: at least 1"),
        (["--sizes", "small", "--events-on", "medium"], "not one of --sizes small"),
    ],
)
def test_a_bad_argument_is_named_and_nothing_is_measured_or_written(
    arguments: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "benchmarks.md"

    with pytest.raises(SystemExit) as exit_:
        main([*arguments, "--output", str(output)])

    assert exit_.value.code == 2
    assert message in capsys.readouterr().err
    assert not output.exists()
