"""One module per remediation action, named after it; the machinery that plans, journals,
runs and undoes them (change, runner, journal, guards, caps) sits one folder up."""
