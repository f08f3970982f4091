"""The residents' pages, served by intake: report a problem (`/report`), the answer with its number and QR code, and
follow a request with a one-time code (`/track`). Server-rendered (Jinja2), working without JavaScript; the small
scripts served beside them add the "use my location" pin and the offline queue (docs/residents.md, "Pages")."""
