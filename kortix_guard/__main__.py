from __future__ import annotations

from kortix_guard.cli.main import main

raise SystemExit(main())
