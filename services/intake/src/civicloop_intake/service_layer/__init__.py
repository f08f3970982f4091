"""Intake's use cases: submit a service request, track one. Handlers depend on the ports, never on adapters."""
