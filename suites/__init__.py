"""Tasks, scoring, runner, CLI, leaderboard and the pytest-benchmark modules."""
