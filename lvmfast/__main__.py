from lvmfast.cli import main

raise SystemExit(main())
