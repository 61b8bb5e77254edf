import sys

from chiso.resident import main

sys.exit(main())
