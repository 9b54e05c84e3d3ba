"""`python -m avatar_studio` is the same as the `avatar-studio` command."""

import sys

from avatar_studio.cli.main import main

sys.exit(main())
