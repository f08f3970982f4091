"""The agents' console: intake's pages for staff (sign-in, queues, a request's page with its actions)."""
