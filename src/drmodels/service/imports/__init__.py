"""The import job and its steps: prefetch, copy, package, verify; progress; the job sequence."""
