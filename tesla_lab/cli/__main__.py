"""``python -m tesla_lab.cli``: the ``tesla`` command without the installed script."""

from tesla_lab.cli.app import main

raise SystemExit(main())
