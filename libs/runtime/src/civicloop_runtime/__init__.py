"""What every CivicLoop service process shares; holds no domain logic and no event fields (those are libs/events)."""
