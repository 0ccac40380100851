"""Generation with posterior-mean denoisers: reverse processes, schedules, observables (docs/physics.md, section 8)."""
