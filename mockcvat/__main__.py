from mockcvat.cli import main

raise SystemExit(main())
