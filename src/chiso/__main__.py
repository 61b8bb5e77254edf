import gc
import sys

gc.disable()  # until the command's modules are imported: see chiso.cli.quiet_start

from chiso.cli import main  # noqa: E402

sys.exit(main())
