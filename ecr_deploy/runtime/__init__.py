"""What the production image runs: `manage.py serve` and the /health/ middleware. Django and the standard library
only (lint-imports keeps it so), so that nothing of the deploy side can stop the web process."""
