"""`python -m lab` = la orden `lab`."""

import sys

from lab.cli import main

sys.exit(main())
