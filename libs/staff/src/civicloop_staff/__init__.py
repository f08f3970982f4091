"""Staff identity: roles, teams, sign-in rules, and the one verifier of staff tokens that every service uses.

Pure rules (no IO, in the import contract "No IO in any domain"): `roles`, `accounts`, `sign_in`, `lockout`,
`passwords`, `totp`, `one_time_secrets`. Around them: `tokens` (access tokens, keys from the secrets mechanism),
`verifier` (`require_staff`, the FastAPI dependency), `settings` (what a service reads to verify) and `cli`
(`civicloop-staff`). docs/staff.md says how they fit.
"""
