"""`python -m bot` is `sello-bot`."""

from bot.cli import main

raise SystemExit(main())
