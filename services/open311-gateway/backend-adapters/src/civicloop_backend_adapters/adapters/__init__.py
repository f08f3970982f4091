"""The back-ends: a CSV feed (files or a URL) and a REST work-order API, over HTTP."""
