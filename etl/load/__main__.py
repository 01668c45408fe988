import sys

from etl.load.cli import main

sys.exit(main())
