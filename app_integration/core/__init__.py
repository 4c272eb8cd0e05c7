"""The bridge's core: no web framework, no HTTP client, no Redmine or Mattermost client."""
