import sys

from kgalign.cli import main

sys.exit(main())
