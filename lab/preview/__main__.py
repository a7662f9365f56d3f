import sys

from lab.preview import main

sys.exit(main(sys.argv[1:]))
