"""Staff identity: roles, teams, sign-in rules, and the one verifier of staff tokens that every service uses."""
