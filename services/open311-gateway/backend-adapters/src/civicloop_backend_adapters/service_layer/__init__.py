"""What the adapter app does with a request: pick the jurisdiction's adapter, check its api_key."""
