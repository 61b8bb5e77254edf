import sys

from chiso.cli import main

sys.exit(main())
