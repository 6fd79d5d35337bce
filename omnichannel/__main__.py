"""`python -m omnichannel ...`, the same as the `omnichannel` command."""

import sys

from omnichannel.cli import main

sys.exit(main())
