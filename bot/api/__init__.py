"""The product's one HTTP API on the bot's port, beside Slack's endpoint: bearer tokens that
carry a role, JSON errors, one OpenAPI document generated from the endpoint declarations, and
every change audited and announced in the ops channel as the same change made in Slack is."""
