"""Pages for a jurisdiction's admin in the console (`/console/admin/...`)."""
