from mktsync.cli import main

raise SystemExit(main())
