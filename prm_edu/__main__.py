from prm_edu.cli import main

raise SystemExit(main())
