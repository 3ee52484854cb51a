"""Fault drills: a copy of the app, started as `make run` starts it, under real faults.

`make drill` starts the copy (its own VAR_DIR under var/drills/, its own embedded PostgreSQL and
Redis, a free port, supervisord), sends tagged events through the bulk API, then kills processes
with SIGKILL, stops PostgreSQL or Redis, starts a second beat, sends 100 bulk requests at once and
finally stops it all with SIGINT. Each drill asserts that every acknowledged event is stored
exactly once, that no refresh or report run is left `running`, that no answer was a 500, and that
the app recovered by itself. The README's "Reliability" section lists them with what each proved.

Not collected by `make test` (pyproject's addopts); run with `make drill`, or
`make drill DRILL_MODE=nightly` for the slow ones too.
"""
