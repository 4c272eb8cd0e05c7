"""Mattermost for development: a compose file for a real server, and an emulator for tests and the demo."""
