# SPDX-License-Identifier: LGPL-2.1-or-later
import sys

from .app import main

sys.exit(main())
