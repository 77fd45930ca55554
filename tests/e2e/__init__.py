"""Real-browser tests: the served app driven through headless Debian chromium."""
