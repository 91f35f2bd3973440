"""Developer tools that check the package itself (edge level: nothing imports them)."""
