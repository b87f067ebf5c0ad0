from __future__ import annotations

from kortix_guard.cli.start import main

raise SystemExit(main())
