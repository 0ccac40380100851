"""Tasks, estimators, runner, CLI, leaderboard and the pytest-benchmark modules."""
