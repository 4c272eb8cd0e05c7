from app_integration.cli import main

raise SystemExit(main())
