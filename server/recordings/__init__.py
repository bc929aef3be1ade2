"""Where recording bytes live: a content-addressed store (``store.py``; local filesystem in
``local.py``) and the staging area of resumable uploads (``staging.py``)."""
