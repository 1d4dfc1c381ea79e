"""`python -m rolewarden.cli`, as the `rolewarden` script."""

import sys

from rolewarden.cli.main import main

sys.exit(main())
