"""A chat-ops bridge that brings Redmine into Mattermost."""

__version__ = "0.1.0"
